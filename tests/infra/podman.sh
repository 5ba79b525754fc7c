#!/bin/sh
# Start Podman's Docker-compatible API service on a private socket and import the local test image.
#
#   eval "$(tests/infra/podman.sh)"   # then CONTAINER_HOST names the service's socket
#   tests/infra/podman.sh stop        # stop the service and remove what its containers' network left behind
#
# Idempotent and safe to run concurrently (a lock). Needs root and a Debian 12 package source (podman 4.3 with
# conmon and runc). No registry is reachable here, so drmaa2-test/busybox:1 is built from busybox-static with
# `podman import`, as tests/infra/docker-engine.sh does for Docker. The service runs with its own
# containers.conf: without lower rlimits every container start fails on this machine ("error setting rlimit
# type 7: operation not permitted"), and crun fails on its hybrid cgroups, so runc is named.
# Everything but the final `export` line goes to stderr so that the output can be eval'ed.
set -eu

STATE=${DRMAA2_TEST_STATE:-/var/lib/drmaa2-test}/podman
SOCK=$STATE/podman.sock
IMAGE=${DRMAA2_TEST_IMAGE:-drmaa2-test/busybox:1}
CONF=$STATE/containers.conf
export CONTAINERS_CONF="$CONF"

say() { echo "podman.sh: $*" >&2; }
die() { say "$*"; exit 1; }
print_env() { echo "export CONTAINER_HOST=unix://$SOCK"; }
answers() { [ -S "$SOCK" ] && timeout 10 podman --remote --url "unix://$SOCK" version >/dev/null 2>&1; }

[ "$(id -u)" = 0 ] || die "must run as root (packages, the service, its network)"
mkdir -p "$STATE" /run/lock
exec 9>/run/lock/drmaa2-podman.lock
flock -w 600 9 || die "another set-up holds /run/lock/drmaa2-podman.lock for too long"

if [ "${1:-}" = stop ]; then
    if [ -f "$STATE/podman.pid" ]; then
        pid=$(cat "$STATE/podman.pid")
        # Only the service this script started (its pid file), never another podman.
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "podman system service"; then
            timeout 60 podman rm -af -t 0 >/dev/null 2>&1 || true
            kill "$pid" 2>/dev/null || true
            i=0
            while [ -d "/proc/$pid" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
        fi
        rm -f "$STATE/podman.pid" "$SOCK"
    fi
    # What the default "podman" network (CNI bridge + firewall plugins) leaves: the bridge, its iptables chains
    # (and the FORWARD and POSTROUTING jumps to them), the shared bind mount of /run/netns and its IP leases.
    ip link del cni-podman0 2>/dev/null || true
    iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
    for chain in CNI-FORWARD CNI-ADMIN; do
        iptables -F "$chain" 2>/dev/null && iptables -X "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t nat -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ { print $2 }'); do
        iptables -t nat -S POSTROUTING | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "$") { $1 = "-D"; print }' |
            while read -r rule; do eval "iptables -t nat $rule" 2>/dev/null || true; done
        iptables -t nat -F "$chain" 2>/dev/null || true
        iptables -t nat -X "$chain" 2>/dev/null || true
    done
    if [ -z "$(ls -A /run/netns 2>/dev/null)" ] && grep -q ' /run/netns ' /proc/self/mountinfo; then
        umount /run/netns 2>/dev/null || true
    fi
    rm -rf /var/lib/cni/networks/podman
    say "stopped"
    exit 0
fi

if ! answers; then
    if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [ ! -x /usr/libexec/podman/catatonit ] || ! command -v busybox >/dev/null; then
        say "installing podman, runc, catatonit (the containers' init), busybox-static"
        export DEBIAN_FRONTEND=noninteractive
        apt_get() { apt-get -o DPkg::Lock::Timeout=900 -q "$@"; }
        if ! apt_get install -y --no-install-recommends podman runc catatonit busybox-static iptables >&2; then
            apt_get update >&2
            apt_get install -y --no-install-recommends podman runc catatonit busybox-static iptables >&2
        fi
    fi
    printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n' \
        >"$CONF"
    rm -f "$SOCK"
    say "starting podman system service (log: $STATE/podman.log)"
    # 9>&-: the service lives on and must not hold our lock. From its own directory: conmon leaves files (an
    # "oom" marker) in the directory it was started from.
    cd "$STATE"
    setsid podman system service --time=0 "unix://$SOCK" >>"$STATE/podman.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/podman.pid"
    i=0
    until answers; do
        i=$((i + 1)); [ $i -lt 300 ] || die "podman system service does not answer after 30 s (see $STATE/podman.log)"
        sleep 0.1
    done
fi

if ! podman image exists "$IMAGE"; then
    bb=$(command -v busybox || true)
    if [ -z "$bb" ] || ! LC_ALL=C ldd "$bb" 2>&1 | grep -q 'not a dynamic executable'; then
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -q install -y busybox-static >&2
        bb=/bin/busybox
    fi
    say "building $IMAGE from $bb"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/bin" "$root/etc" "$root/tmp"
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar -C "$root" -c . | podman import -q --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
fi
say "podman $(podman --remote --url "unix://$SOCK" version --format '{{.Server.Version}}') answers; image $IMAGE is present"
print_env

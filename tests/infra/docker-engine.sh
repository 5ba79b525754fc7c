#!/usr/bin/env bash
# Make sure a Docker engine answers and the local test image exists; idempotent, safe to run concurrently.
#
# On a fresh Debian machine (as root) this installs Debian's docker.io and busybox-static, starts dockerd in
# the background and builds drmaa2-test/busybox:1 from busybox-static with `docker import`, because no
# registry is reachable here. When an engine already answers (DOCKER_HOST or the default socket) it only
# checks for the image. Exit status 0: engine and image are ready; anything else: the reason is on stderr.
set -euo pipefail

IMAGE=${DRMAA2_TEST_IMAGE:-drmaa2-test/busybox:1}
LOG=${DOCKERD_LOG:-/var/log/drmaa2-dockerd.log}
LOCK=${DOCKER_ENGINE_LOCK:-/run/lock/drmaa2-docker-engine.lock}

say() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# One set-up at a time: two test runs starting together must not both install or start dockerd.
mkdir -p "$(dirname "$LOCK")"
exec 9>"$LOCK"
flock -w 600 9 || die "another set-up holds $LOCK for too long"

# `docker` may be a client newer than the engine; `version` negotiates, so it works with both.
engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! engine_answers; then
    case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
        unix:///var/run/docker.sock|unix:///run/docker.sock) ;;
        *) die "no engine answers at DOCKER_HOST=$DOCKER_HOST, and only a local one can be started here" ;;
    esac
    [ "$(id -u)" = 0 ] || die "no engine answers and starting one needs root"
    # procps: pgrep, below (a minimal Debian has none).
    if ! command -v dockerd >/dev/null || ! command -v busybox >/dev/null || ! command -v pgrep >/dev/null; then
        say "installing docker.io, busybox-static and procps"
        export DEBIAN_FRONTEND=noninteractive
        apt_get() { apt-get -o DPkg::Lock::Timeout=600 -q "$@"; }
        if ! apt_get install -y --no-install-recommends docker.io busybox-static procps >/dev/null; then
            apt_get update >/dev/null
            apt_get install -y --no-install-recommends docker.io busybox-static procps >/dev/null
        fi
    fi
    if ! pgrep -x dockerd >/dev/null; then
        say "starting dockerd (log: $LOG)"
        mkdir -p "$(dirname "$LOG")"
        # 9>&-: dockerd lives on and must not hold our lock.
        setsid dockerd >>"$LOG" 2>&1 </dev/null 9>&- &
    fi
    for _ in $(seq 1 300); do
        engine_answers && break
        sleep 0.1
    done
    engine_answers || die "dockerd did not answer within 30 s; see $LOG"
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    bb=$(command -v busybox || true)
    if [ -z "$bb" ] || ! LC_ALL=C ldd "$bb" 2>&1 | grep -q 'not a dynamic executable'; then
        [ "$(id -u)" = 0 ] || die "image $IMAGE is missing and busybox-static is not installed"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y busybox-static >/dev/null
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
    # Users the tests switch to with --user.
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
fi
say "engine $(docker version --format '{{.Server.Version}}') answers; image $IMAGE is present"

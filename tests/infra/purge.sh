#!/usr/bin/env bash
# Take this machine back to one the test suite has never run on, so that the next `scripts/test` (or
# `CI=true bash .ci/run`) meets it as CI does: no engine, no scheduler, no Kubernetes build, no test user.
#
#   tests/infra/purge.sh --yes      # stop, purge and remove everything listed below
#   tests/infra/purge.sh            # only print what it would do
#
# It undoes what tests/infra/*.sh and bench/setup-peers set up:
#   - stops the daemons they started (kubernetes.sh, podman.sh, slurm.sh and gridengine.sh `stop`; dockerd, exim4);
#   - purges the Debian packages they installed (Docker, Podman, Slurm with slurmdbd and MariaDB, munge, Grid Engine
#     and its DRMAA library, the Kubernetes build's Go and run-time packages, exim4, task-spooler, chromium), then
#     `apt-get autoremove --purge` for what came with them;
#   - removes their data: /var/lib/drmaa2-test (state, the test user's venv), /var/cache/drmaa2-test (the
#     Kubernetes binaries, about 4 minutes of build), Docker's and Podman's images and containers, Grid Engine's
#     cell and spool, the locks and logs;
#   - deletes the users drmaa2test and drmaa2mail with their homes and mail.
# Tools a machine may well have had before (procps, iproute2, curl, openssl, ca-certificates, iptables, make) are
# left installed.
#
# DESTRUCTIVE for everyone on the machine: every container, image and scheduler job is gone afterwards. Needs
# root. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")"

STATE=${DRMAA2_TEST_STATE:-/var/lib/drmaa2-test}
K8S_CACHE=${DRMAA2_K8S_CACHE:-/var/cache/drmaa2-test/kubernetes}
PACKAGES=(
    # docker-engine.sh
    docker.io busybox-static
    # podman.sh
    podman catatonit conmon
    # slurm.sh
    slurmctld slurmd slurm-client slurmdbd munge mariadb-server
    # gridengine.sh, libdrmaa.sh
    gridengine-master gridengine-exec gridengine-client gridengine-common gridengine-drmaa1.0 libjemalloc2
    # kubernetes.sh: the build, then what the cluster runs on
    golang-1.19-go golang-github-modern-go-reflect2-dev
    etcd-server containerd runc containernetworking-plugins
    # mta.sh
    exim4-daemon-light exim4-base exim4-config
    # bench/setup-peers
    task-spooler
    # chromium.sh (the dashboard's browser tests)
    chromium chromium-driver chromium-common chromium-sandbox
)
DIRS=(
    "$STATE" "$K8S_CACHE" /var/cache/drmaa2-test
    /var/lib/docker /etc/docker /var/lib/containers /etc/containers /var/lib/cni /etc/cni
    /var/lib/gridengine /var/spool/gridengine /etc/gridengine
    /var/lib/slurm /var/spool/slurmctld /var/spool/slurmd /etc/slurm /etc/munge /var/lib/munge
    /var/lib/mysql /etc/mysql
    /var/log/drmaa2-dockerd.log /var/mail/drmaa2mail
)
USERS=(drmaa2test drmaa2mail)

say() { printf 'purge.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

if [ "${1:-}" != --yes ]; then
    say "would stop the test engines, purge: ${PACKAGES[*]}"
    say "would remove: ${DIRS[*]} /run/lock/drmaa2-*.lock"
    say "would delete the users: ${USERS[*]}"
    say "run with --yes to do it (destroys every container, image and scheduler job on this machine)"
    exit 2
fi
[ "$(id -u)" = 0 ] || die "must run as root (packages, daemons, users)"

# pid_of FILE: the pid a daemon wrote, if that process still runs.
pid_of() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

# stop_pid FILE: end the daemon named in FILE and wait (at most 30 s) until it is gone.
stop_pid() {
    local pid i
    pid=$(pid_of "$1") || return 0
    say "stopping pid $pid ($1)"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# 1. The daemons, each through the script that started it (they know their own pid files, mounts and bridges).
if [ -x "$K8S_CACHE/bin/kubelet" ] || [ -d "$STATE/kubernetes" ]; then
    bash ./kubernetes.sh stop || say "kubernetes.sh stop failed; going on"
fi
[ -d "$STATE/podman" ] && { sh ./podman.sh stop || say "podman.sh stop failed; going on"; }
[ -d "$STATE/slurm" ] && { sh ./slurm.sh stop || say "slurm.sh stop failed; going on"; }
command -v qconf >/dev/null && { sh ./gridengine.sh stop || say "gridengine.sh stop failed; going on"; }
if command -v docker >/dev/null; then
    timeout 120 docker rm -f $(timeout 60 docker ps -aq 2>/dev/null) >/dev/null 2>&1 || true
fi
stop_pid /var/run/docker.pid
stop_pid /run/containerd/containerd.pid
stop_pid /run/exim4/exim.pid
ip link del docker0 2>/dev/null || true

# 2. The packages, with their configuration, and what only they needed.
installed=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && installed+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#installed[@]} -gt 0 ]; then
    say "purging ${installed[*]}"
    apt-get -o DPkg::Lock::Timeout=600 -q purge -y "${installed[@]}" >&2
fi
apt-get -o DPkg::Lock::Timeout=600 -q autoremove --purge -y >&2

# 3. Their data, the Kubernetes build cache, the locks.
for d in "${DIRS[@]}"; do
    # What the scripts mounted below their state (containers' and pods' mounts) must go before the files.
    if [ -d "$d" ]; then
        awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done
    fi
    if mountpoint -q "$d" 2>/dev/null; then
        # A directory the machine mounts from elsewhere (Docker's data, on some images): emptied, not removed.
        say "emptying $d (a mount point)"
        find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} + || true
    elif [ -e "$d" ]; then
        say "removing $d"
        rm -rf "$d"
    fi
done
rm -f /run/lock/drmaa2-*.lock

# 4. The test users, with their homes and mail.
for u in "${USERS[@]}"; do
    if id -u "$u" >/dev/null 2>&1; then
        say "deleting the user $u"
        pkill -KILL -u "$u" 2>/dev/null || true
        userdel -r "$u" 2>/dev/null || userdel "$u"
    fi
done
say "done: the machine is as before the first test run (run scripts/test to set everything up again)"

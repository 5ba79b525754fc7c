#!/bin/sh
# Start a one-node Slurm cluster (munged, slurmctld, slurmd) with accounting (slurmdbd on a MariaDB of its own)
# on this machine, without systemd.
#
#   eval "$(tests/infra/slurm.sh)"       # then sbatch/squeue/sinfo/sacct work
#   tests/infra/slurm.sh stop            # stop the daemons this script started
#
# Idempotent: when the daemons already answer with this recipe's configuration it only prints the environment.
# A cluster started by an older recipe (no accounting, or proctrack/linuxproc) is upgraded in place: MariaDB and
# slurmdbd are started, then slurmctld and slurmd restarted once (jobs survive it: their state is saved, their steps keep running).
# Needs root and a Debian 12 package source. Configs, state, database and logs live under $DRMAA2_TEST_STATE
# (default /var/lib/drmaa2-test/slurm). Everything but the final `export` lines goes to stderr so that the
# output can be eval'ed.
set -eu

STATE=${DRMAA2_TEST_STATE:-/var/lib/drmaa2-test}/slurm
CONF=$STATE/slurm.conf
HOST=$(hostname -s)
SOCKET=$STATE/munge/munge.socket
DB=$STATE/mariadb
DBSOCK=$DB/run/mysql.sock
DBPORT=3318
DBDPORT=6819
# This recipe's marks in slurm.conf: a running cluster whose configuration lacks one is restarted with this one.
# The cgroup mark is a line of its own so that an older copy of this script, which looks only for the accounting
# mark, takes a cluster of this recipe for its own instead of restarting it with proctrack/linuxproc.
RECIPE="# recipe: accounting 1"
CGROUP_MARK="# recipe: cgroup 1"
PACKAGES="slurmctld slurmd slurm-client munge slurmdbd mariadb-server"

say() { echo "slurm.sh: $*" >&2; }
die() { say "$*"; exit 1; }

print_env() {
    echo "export SLURM_CONF=$CONF"
}

alive() {  # alive PIDFILE: the process named in PIDFILE runs
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

answers() {
    [ -f "$CONF" ] && SLURM_CONF=$CONF timeout 5 sinfo -h -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'
}

current() {  # the running cluster was started by this recipe
    grep -qx "$RECIPE" "$CONF" 2>/dev/null && grep -qx "$CGROUP_MARK" "$CONF"
}

stop_pid() {  # stop_pid PIDFILE: stop the process and wait until it is gone
    if alive "$1"; then
        pid=$(cat "$1")
        kill "$pid" && say "stopped $(basename "$1" .pid)"
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1)); [ $i -lt 300 ] || die "$(basename "$1" .pid) does not stop"
            sleep 0.1
        done
    fi
}

stop() {
    for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/slurmdbd.pid" "$DB/run/mariadb.pid" \
            "$STATE/munge/munged.pid"; do
        stop_pid "$pidfile"
    done
}

if [ "${1:-}" = stop ]; then
    stop
    exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (daemons and packages)"

# Fast path: a second call while the cluster runs changes nothing.
if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid" && alive "$STATE/slurmdbd.pid" && current \
        && answers; then
    print_env
    exit 0
fi

# One set-up at a time: two test runs starting the cluster at once must not both (re)start its daemons.
mkdir -p "$STATE"
exec 9>>"$STATE/setup.lock"
flock -w 900 9 || die "another slurm.sh holds $STATE/setup.lock for too long"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
        || ! command -v munged >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null
then
    say "installing $PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $PACKAGES >&2 \
        || { apt-get -o DPkg::Lock::Timeout=900 update >&2 \
             && apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $PACKAGES >&2; }
fi

# munged refuses directories that others can write to; our own key keeps /etc untouched.
mkdir -p "$STATE/munge" "$STATE/spool" "$STATE/state"
chmod 0755 "$(dirname "$STATE")" "$STATE"
chown munge:munge "$STATE/munge"
chmod 0711 "$STATE/munge"  # clients need to reach the socket
if [ ! -s "$STATE/munge/munge.key" ]; then
    mungekey -c -k "$STATE/munge/munge.key"
    chown munge:munge "$STATE/munge/munge.key"
    chmod 0600 "$STATE/munge/munge.key"
fi

if ! alive "$STATE/munge/munged.pid"; then
    say "starting munged"
    rm -f "$SOCKET" "$SOCKET.lock"
    setsid runuser -u munge -- munged --socket="$SOCKET" --key-file="$STATE/munge/munge.key" \
        --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
        --seed-file="$STATE/munge/munged.seed" </dev/null >&2 9>&-
fi
i=0
until munge -n -S "$SOCKET" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || die "munged does not answer (see $STATE/munge/munged.log)"
    sleep 0.1
done

# Written every time so that a changed recipe takes effect on the next start; it takes the place of the running
# one below (the accounting commands read it from $CONF.new until then).
cat > "$CONF.new" <<EOF
# Generated by tests/infra/slurm.sh: a one-node test cluster.
$RECIPE
$CGROUP_MARK
ClusterName=drmaa2test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
MpiDefault=none
# A job's processes are tracked in a cgroup of their own (freezer; cgroup.conf beside this file): children left
# running when the batch script exits, setsid or daemonised ones included, are killed with the job and by
# scancel. proctrack/linuxproc follows only parent links, which such children leave.
ProctrackType=proctrack/cgroup
TaskPlugin=task/none
# Accounting: each task's CPU time and RSS sampled every second, kept by slurmdbd (sacct).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBDPORT
# The munge socket for the connection to slurmdbd (AuthInfo covers only the daemons).
AccountingStoragePass=$SOCKET
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# batch_sched_delay=0 removes seconds of delay per job.
SchedulerParameters=batch_sched_delay=0
# Cancel a job whose dependency can never be met instead of leaving it pending forever (22.05 reads
# kill_invalid_depend here, no longer in SchedulerParameters).
DependencyParameters=kill_invalid_depend
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.txt
# Finished jobs stay visible in squeue/scontrol for 10 minutes.
MinJobAge=600
# Seconds between SIGTERM and SIGKILL when a job is cancelled or runs out of time.
KillWait=5
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=2 RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
# Slurm reads cgroup.conf beside slurm.conf. This machine mounts cgroup v1 (a tmpfs of controllers under
# /sys/fs/cgroup); cgroup/v1 is named so that the hybrid's unified mount does not lead autodetection astray.
# Nothing is constrained (no task/cgroup): the cgroup only contains the job.
cat > "$STATE/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
CgroupAutomount=yes
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
# --- accounting: MariaDB, then slurmdbd --------------------------------------------------------------------
if ! alive "$DB/run/mariadb.pid"; then
    say "starting mariadb"
    mkdir -p "$DB/data" "$DB/run"
    cat > "$DB/my.cnf" <<EOF
[mysqld]
user=mysql
datadir=$DB/data
socket=$DBSOCK
port=$DBPORT
bind-address=127.0.0.1
pid-file=$DB/run/mariadb.pid
log-error=$DB/mariadb.log
skip-name-resolve
innodb_buffer_pool_size=32M
innodb_lock_wait_timeout=900
EOF
    chown -R mysql:mysql "$DB"
    if [ ! -d "$DB/data/mysql" ]; then
        mariadb-install-db --defaults-file="$DB/my.cnf" >"$DB/install.log" 2>&1 \
            || die "mariadb-install-db failed (see $DB/install.log)"
    fi
    setsid mariadbd --defaults-file="$DB/my.cnf" </dev/null >>"$DB/mariadb.out" 2>&1 9>&- &
fi
i=0
until mariadb --socket="$DBSOCK" -uroot -e "SELECT 1" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || die "mariadb does not answer (see $DB/mariadb.log)"
    sleep 0.1
done
mariadb --socket="$DBSOCK" -uroot -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmtest';
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmtest';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1', 'slurm'@'localhost';" \
    || die "cannot create the slurm user in mariadb"

# slurmdbd reads slurmdbd.conf beside slurm.conf; it holds the database password, so only root may read it.
(umask 077 && cat > "$STATE/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBDPORT
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DBPORT
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmtest
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
EOF
)
if ! alive "$STATE/slurmdbd.pid"; then
    say "starting slurmdbd"
    SLURM_CONF=$CONF.new setsid slurmdbd </dev/null >>"$STATE/slurmdbd.out" 2>&1 9>&-
fi
i=0
until SLURM_CONF=$CONF.new timeout 5 sacctmgr -n list cluster format=cluster >"$STATE/clusters" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 60 ] || die "slurmdbd does not answer (see $STATE/slurmdbd.log)"
    sleep 0.1
done
if ! grep -qw drmaa2test "$STATE/clusters"; then
    SLURM_CONF=$CONF.new sacctmgr -i add cluster drmaa2test >&2 || die "sacctmgr cannot add the cluster"
fi

# --- the cluster ---------------------------------------------------------------------------------------------
# A cluster of an older recipe is restarted: its daemons read the configuration only when they start.
if [ -f "$CONF" ] && ! current; then
    say "restarting slurmctld and slurmd with this recipe (accounting, cgroup process tracking)"
    stop_pid "$STATE/slurmd.pid"
    stop_pid "$STATE/slurmctld.pid"
fi

mv "$CONF.new" "$CONF"

if ! alive "$STATE/slurmctld.pid"; then
    say "starting slurmctld"
    SLURM_CONF=$CONF setsid slurmctld -i -f "$CONF" </dev/null >>"$STATE/slurmctld.out" 2>&1 9>&-
fi
if ! alive "$STATE/slurmd.pid"; then
    say "starting slurmd"
    SLURM_CONF=$CONF setsid slurmd -f "$CONF" -N "$HOST" </dev/null >>"$STATE/slurmd.out" 2>&1 9>&-
fi

i=0
until answers; do
    i=$((i + 1)); [ $i -lt 300 ] || die "sinfo does not show a usable node after 30 s (see $STATE/*.log)"
    sleep 0.1
done
say "slurm ready"
print_env

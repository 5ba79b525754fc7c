#!/bin/sh
# Start a one-host Grid Engine (Son of Grid Engine 8.1.9 from Debian) on this machine, without systemd.
#
#   eval "$(tests/infra/gridengine.sh)"   # then qsub/qstat/qacct work
#   tests/infra/gridengine.sh stop        # stop qmaster and execd
#
# Idempotent: when qmaster and execd already answer it only prints the environment. Needs root and a Debian 12
# package source. Our generated configuration files live under $DRMAA2_TEST_STATE (default
# /var/lib/drmaa2-test/gridengine); the daemons keep their spool and logs where the Debian package puts them
# (/var/spool/gridengine/qmaster/messages, /var/spool/gridengine/execd/*/messages).
# Everything but the final `export` lines goes to stderr so that the output can be eval'ed.
set -eu

STATE=${DRMAA2_TEST_STATE:-/var/lib/drmaa2-test}/gridengine
SGE_ROOT=/var/lib/gridengine
SGE_CELL=default
export SGE_ROOT SGE_CELL
HOST=$(hostname -s)

say() { echo "gridengine.sh: $*" >&2; }
die() { say "$*"; exit 1; }

print_env() {
    echo "export SGE_ROOT=$SGE_ROOT"
    echo "export SGE_CELL=$SGE_CELL"
}

running() { pgrep -x "$1" >/dev/null 2>&1; }

# The queue is usable once execd has reported: no "u" (unknown), "d" (disabled) or "E" (error) state.
ready() {
    out=$(timeout 5 qstat -f -q all.q 2>/dev/null) || return 1
    printf '%s\n' "$out" | awk -v q="all.q@$HOST" '$1 == q { found = 1; if (NF > 5 && $6 ~ /[udE]/) bad = 1 }
        END { exit !(found && !bad) }'
}

if [ "${1:-}" = stop ]; then
    if running sge_qmaster; then
        qconf -ke all >&2 || true
        qconf -km >&2 || true
        i=0
        while running sge_qmaster || running sge_execd; do
            i=$((i + 1)); [ $i -lt 200 ] || die "the daemons do not stop"
            sleep 0.1
        done
        say "stopped"
    fi
    exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root (daemons and packages)"

# One set-up at a time: test workers starting together must not both install, configure or start the cell.
mkdir -p /run/lock
exec 9>/run/lock/drmaa2-gridengine.lock
flock -w 900 9 || die "another set-up holds /run/lock/drmaa2-gridengine.lock for too long"

# running() needs pgrep, which a minimal Debian lacks.
if ! command -v pgrep >/dev/null; then
    say "installing procps (pgrep)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends procps >&2 \
        || { apt-get -o DPkg::Lock::Timeout=600 update >&2 \
             && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends procps >&2; }
fi

# Grid Engine kills only a job's process group unless execd also kills by the additional group id it gives
# every process of a job (ENABLE_ADDGRP_KILL), and that never kills a root process: the queue's epilog (below)
# kills what is left of the job, root's included. With both, `setsid` and daemonised children end with the job.
contained() {
    timeout 5 qconf -sconf global 2>/dev/null | grep -q 'ENABLE_ADDGRP_KILL=TRUE' \
        && timeout 5 qconf -sq all.q 2>/dev/null | grep -q "^epilog  *$STATE/epilog\$" \
        && grep -qx 'exec >/dev/null 2>&1' "$STATE/epilog"
}

# Fast path: a second call while the cluster runs changes nothing. A cell set up by an older version of this
# script (without ENABLE_ADDGRP_KILL) goes on below, where its configuration is rewritten in place.
if running sge_qmaster && running sge_execd && ready && contained; then
    print_env
    exit 0
fi

if [ ! -x /usr/lib/gridengine/sge_execd ] || [ ! -x /usr/sbin/sge_qmaster ] || ! command -v qsub >/dev/null; then
    say "installing gridengine-master gridengine-exec gridengine-client"
    debconf-set-selections <<EOF
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string $SGE_CELL
gridengine-common shared/gridenginemaster string $HOST
gridengine-client shared/gridengineconfig boolean true
gridengine-client shared/gridenginecell string $SGE_CELL
gridengine-client shared/gridenginemaster string $HOST
EOF
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
        gridengine-master gridengine-exec gridengine-client >&2 \
        || { apt-get -o DPkg::Lock::Timeout=600 update >&2 \
             && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
                gridengine-master gridengine-exec gridengine-client >&2; }
fi
[ -f "$SGE_ROOT/$SGE_CELL/common/bootstrap" ] || die "the package did not create cell $SGE_CELL in $SGE_ROOT"

mkdir -p "$STATE"
# 127.0.0.1 reverse-resolves to "localhost", which commlib refuses to treat as this host.
echo "$HOST localhost" > "$SGE_ROOT/$SGE_CELL/common/host_aliases"

cd /
if ! running sge_qmaster; then
    say "starting sge_qmaster"
    setsid /usr/sbin/sge_qmaster </dev/null >>"$STATE/qmaster.out" 2>&1 9>&-  # the daemon must not hold the lock
fi
i=0
until qconf -sh >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || die "sge_qmaster does not answer after 30 s (see /var/spool/gridengine/qmaster/messages)"
    sleep 0.1
done

# Root may run jobs; accounting is written at once so that qacct sees a job as soon as it ends; execd kills
# every process carrying the job's additional group id (from gid_range), not only its process group. execd takes
# a changed global configuration from qmaster while it runs, so a running cell needs no restart.
qconf -sconf global | awk '
    /^min_uid / { print "min_uid 0"; next }
    /^execd_params / { print "execd_params ENABLE_ADDGRP_KILL=TRUE"; cont = /\\$/; next }
    /^min_gid / { print "min_gid 0"; next }
    /^reporting_params / {
        print "reporting_params accounting=true reporting=false flush_time=00:00:15 joblog=false " \
              "sharelog=00:00:00 accounting_flush_time=00:00:00"
        cont = /\\$/; next
    }
    cont { cont = /\\$/; next }
    { print }' > "$STATE/global"
qconf -Mconf "$STATE/global" >&2

# Schedule every second instead of every 15 s, and right after a submit or a finish.
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval                 0:0:1/' \
    -e 's/^flush_submit_sec .*/flush_submit_sec                  1/' \
    -e 's/^flush_finish_sec .*/flush_finish_sec                  1/' > "$STATE/sched"
qconf -Msconf "$STATE/sched" >&2

qconf -ss 2>/dev/null | grep -qx "$HOST" || qconf -as "$HOST" >&2

# A parallel environment so that jobs can ask for more than one slot (--cpus).
cat > "$STATE/smp" <<'EOF'
pe_name            smp
slots              2
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    $pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
if qconf -sp smp >/dev/null 2>&1; then qconf -Mp "$STATE/smp" >&2; else qconf -Ap "$STATE/smp" >&2; fi

# The epilog runs after every job, also one ended by qdel, as the job's owner; it gets no additional group id
# itself but finds the job's in the execd's spool. It kills each process that still carries it: the shepherd's
# ENABLE_ADDGRP_KILL does the same but skips root's processes (its trace says "do not kill root process").
# Pure shell (no forks), so that no helper of its own is among what it kills. It must exit 0: another status
# puts the queue in an error state.
cat > "$STATE/epilog" <<'EOF'
#!/bin/sh
# Generated by tests/infra/gridengine.sh: kill what is left of the job (its additional group id's processes).
# Its output would land in the job's output files (a process gone between the glob and the read): none.
exec >/dev/null 2>&1
gid=
[ -r "$SGE_JOB_SPOOL_DIR/addgrpid" ] && read -r gid < "$SGE_JOB_SPOOL_DIR/addgrpid"
[ -n "$gid" ] && [ "$gid" -gt 0 ] 2>/dev/null || exit 0
for s in /proc/[0-9]*/status; do
    pid=${s#/proc/}; pid=${pid%/status}
    [ "$pid" = $$ ] && continue
    while read -r key rest; do
        [ "$key" = Groups: ] || continue
        case " $rest " in *" $gid "*) kill -KILL "$pid" 2>/dev/null;; esac
        break
    done < "$s"
done
exit 0
EOF
chmod 0755 "$STATE/epilog"

# The package creates no queue. Derive all.q from the built-in template.
if qconf -sq all.q >/dev/null 2>&1; then verb=-Mq; else verb=-Aq; fi
qconf -sq | sed -e 's/^qname .*/qname                 all.q/' \
    -e "s/^hostlist .*/hostlist              $HOST/" \
    -e 's/^slots .*/slots                 2/' \
    -e 's/^load_thresholds .*/load_thresholds       NONE/' \
    -e 's/^pe_list .*/pe_list               smp/' \
    -e "s|^epilog .*|epilog                $STATE/epilog|" \
    -e 's|^shell .*|shell                 /bin/sh|' > "$STATE/all.q"
qconf $verb "$STATE/all.q" >&2

if ! running sge_execd; then
    say "starting sge_execd"
    setsid /usr/lib/gridengine/sge_execd </dev/null >>"$STATE/execd.out" 2>&1 9>&-
fi

i=0
until ready; do
    i=$((i + 1)); [ $i -lt 300 ] || die "queue all.q@$HOST is not usable after 30 s (qstat -f; /var/spool/gridengine/execd/*/messages)"
    sleep 0.1
done
say "gridengine ready"
print_env

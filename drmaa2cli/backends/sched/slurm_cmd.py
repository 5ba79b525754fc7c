"""Pure functions between the Slurm backend and Slurm's commands: build sbatch/squeue/sacct/scancel command
lines and parse their output. Tested on output saved from a real slurmctld (tests/fixtures/slurm/).

Native ids: "123" for a job, "123_4" for task 4 of array job 123 (Slurm's own notation).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidArgument
from ...models import ArraySpec, JobState, JobTemplate
from . import NATIVE_ID
from .common import (
    TASK_MARK,
    After,
    Paths,
    check_after,
    check_array,
    decode_wait_status,
    describe_exit,
    local_time,
    native_options,
    resource_int,
    submitted_id,
    time_limit_seconds,
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

# squeue -O: "name:|" prints the field unpadded and untruncated, followed by "|".
SQUEUE_FIELDS = ("JobID", "JobArrayID", "State", "Reason", "exit_code", "StartTime", "EndTime", "NodeList")
SACCT_FIELDS = ("JobID", "JobIDRaw", "State", "ExitCode", "Start", "End", "NodeList", "TotalCPU", "MaxRSS")

#: Slurm job state -> DRMAA2 state. A PENDING job held by a user or admin is QUEUED_HELD (see job_changes).
STATE_MAP: dict[str, JobState] = {
    "PENDING": JobState.QUEUED,
    "CONFIGURING": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "SUSPENDED": JobState.SUSPENDED,
    "STOPPED": JobState.SUSPENDED,
    "REQUEUED": JobState.REQUEUED,
    "REQUEUE_FED": JobState.REQUEUED,
    "REQUEUE_HOLD": JobState.REQUEUED_HELD,
    "SPECIAL_EXIT": JobState.REQUEUED_HELD,
    "RESV_DEL_HOLD": JobState.QUEUED_HELD,
    "COMPLETED": JobState.DONE,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.FAILED,
    "TIMEOUT": JobState.FAILED,
    "NODE_FAIL": JobState.FAILED,
    "PREEMPTED": JobState.FAILED,
    "BOOT_FAIL": JobState.FAILED,
    "DEADLINE": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "REVOKED": JobState.FAILED,
}

HELD_REASONS = frozenset({"JobHeldUser", "JobHeldAdmin"})
#: A pending job with this reason will never start (its dependency failed).
NEVER_REASON = "DependencyNeverSatisfied"

_WHY = {
    "CANCELLED": "cancelled",
    "TIMEOUT": "time limit reached",
    "NODE_FAIL": "its node failed",
    "PREEMPTED": "preempted",
    "BOOT_FAIL": "its node failed to boot",
    "DEADLINE": "deadline reached",
    "OUT_OF_MEMORY": "OOM killed",
    "REVOKED": "revoked by a sibling cluster",
}


@dataclass(frozen=True)
class Record:
    """One job or array task as squeue or sacct reports it.

    ``exit_status``/``signal`` are decoded already (squeue gives a raw wait status, sacct "exit:signal");
    times are epoch seconds or None.
    """

    native_id: str
    job_id: str
    state: str
    reason: str = ""
    exit_status: int | None = None
    signal: int | None = None
    start: float | None = None
    end: float | None = None
    nodes: str = ""
    cpu_time: float | None = None
    max_rss: int | None = None
    #: sacct showed a step of the job ("123.batch"): slurmdbd has its figures, MaxRSS among them if sampled.
    stepped: bool = False


# --- submit ---------------------------------------------------------------------------------------------
def slurm_path(path: str, array: bool = False) -> str:
    """A path for --output/--error/--input: "%" escaped, TASK_MARK turned into Slurm's %a, NATIVE_ID into
    Slurm's own id (%j; %A_%a for a task of an ``array``). Raises InvalidArgument where Slurm cannot express
    it (a backslash disables every pattern)."""
    if "\\" in path:
        if TASK_MARK in path or NATIVE_ID in path:
            raise InvalidArgument(f"a path with a backslash cannot name array tasks in Slurm: {path!r}")
        return path
    own = "%A_%a" if array else "%j"
    return path.replace("%", "%%").replace(TASK_MARK, "%a").replace(NATIVE_ID, own)


def time_limit(seconds: int) -> str:
    """Slurm's minutes:seconds form; Slurm itself rounds limits up to whole minutes."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def index_list(indices: Sequence[int]) -> str:
    """Ascending indices in sbatch's list form, runs as ranges: (1, 3, 5, 6, 7) -> "1,3,5-7"."""
    parts: list[str] = []
    start = prev = indices[0]
    for i in [*indices[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ",".join(parts)


def build_submit_command(
    template: JobTemplate,
    paths: Paths,
    *,
    job_name: str,
    array: ArraySpec | None = None,
    after: After | None = None,
    test_only: bool = False,
    nodes: Sequence[str] = (),
) -> list[str]:
    """The sbatch command line for ``template``; the job script goes to its stdin. ``nodes`` are the cluster's
    nodes, needed for a template with several candidate machines: sbatch's --nodelist would allocate all of
    them, so every other node is excluded instead.

    Raises InvalidArgument for settings Slurm cannot express.
    """
    cmd = ["sbatch", "--test-only" if test_only else "--parsable", f"--job-name={job_name}"]
    cmd.append(f"--chdir={paths.working_dir}")
    cmd.append(f"--output={slurm_path(paths.output, array is not None)}")
    if paths.error is not None:
        cmd.append(f"--error={slurm_path(paths.error, array is not None)}")
    if paths.input is not None:
        cmd.append(f"--input={slurm_path(paths.input)}")
    if template.submit_as_hold:
        cmd.append("--hold")
    seconds = time_limit_seconds(template.timeout)
    if seconds is not None:
        cmd.append(f"--time={time_limit(seconds)}")
    if template.queue_name:
        cmd.append(f"--partition={template.queue_name}")
    if template.accounting_id:
        cmd.append(f"--account={template.accounting_id}")
    if template.comment:
        cmd.append(f"--comment={template.comment}")
    cmd.extend(mail_options(template))
    cmd.extend(placement_options(template.candidate_machines, nodes))
    limits = template.resource_limits
    memory = resource_int(limits, "memory_mb")
    if template.min_phys_memory is not None:
        # Slurm's --mem is both what a node must have and the job's limit: the larger of the two asks.
        memory = max(memory or 0, math.ceil(template.min_phys_memory / 1024))
    if memory is not None:
        cmd.append(f"--mem={memory}M")
    disk = resource_int(limits, "disk_mb")
    if disk is not None:
        cmd.append(f"--tmp={disk}M")
    cpus = resource_int(limits, "cpus")
    if cpus is not None:
        cmd.append(f"--cpus-per-task={cpus}")
    if array is not None:
        check_array(array)
        if array.only is not None:
            spec = "--array=" + index_list(array.only)
        else:
            spec = f"--array={array.first}-{array.last}"
            if array.step != 1:
                spec += f":{array.step}"
        if array.max_parallel is not None:
            spec += f"%{array.max_parallel}"
        cmd.append(spec)
    if after is not None:
        check_after(after)
        kind = "afterok" if after.mode == "ok" else "afterany"
        cmd.append(f"--dependency={kind}:{':'.join(after.native_ids)}")
        # Without this a job whose dependency failed stays pending forever on most clusters.
        cmd.append("--kill-on-invalid-dep=yes")
    cmd.extend(native_options(template))
    return cmd


def placement_options(candidates: Sequence[str], nodes: Sequence[str]) -> list[str]:
    """sbatch options that keep a one-node job on one of ``candidates``. Raises InvalidArgument when none of
    them is a node of the cluster (``nodes``, needed only for several candidates)."""
    if len(candidates) <= 1:
        return [f"--nodelist={c}" for c in candidates]
    others = [n for n in nodes if n not in candidates]
    if len(others) == len(nodes):
        raise InvalidArgument(f"none of the candidate machines {', '.join(candidates)} is a slurm node")
    return [f"--exclude={','.join(others)}"] if others else []


def parse_submit_output(text: str) -> str:
    """The job id printed by ``sbatch --parsable`` ("123" or "123;cluster"). Raises InvalidArgument when
    there is none."""
    return submitted_id(text, ";", "sbatch")


def task_native_id(native_id: str, index: int) -> str:
    return f"{native_id}_{index}"


def base_id(native_id: str) -> str:
    """The job id to ask squeue about: the array job id for a task ("123_4" -> "123")."""
    return native_id.split("_", 1)[0]


# --- observe --------------------------------------------------------------------------------------------
def build_status_command(native_ids: Iterable[str]) -> list[str]:
    """One squeue call for every job (arrays by their array job id), finished ones included."""
    ids = sorted({base_id(n) for n in native_ids}, key=int)
    fmt = ",".join(f"{f}:|" for f in SQUEUE_FIELDS)
    return ["squeue", "--noheader", "--states=all", f"--jobs={','.join(ids)}", f"--Format={fmt}"]


def _expand_pending(array_id: str) -> list[str]:
    """ "5_[3-6%2]" or "5_[1,4-5]" -> ["5_3", ...]; other ids unchanged."""
    m = re.fullmatch(r"(\d+)_\[([^\]]*)\]", array_id)
    if not m:
        return [array_id]
    base, spec = m.group(1), m.group(2).split("%", 1)[0]
    out: list[str] = []
    for part in spec.split(","):
        lo, _, rest = part.partition("-")
        hi, _, step = rest.partition(":")
        out.extend(f"{base}_{i}" for i in range(int(lo), int(hi or lo) + 1, int(step or 1)))
    return out


def parse_squeue(text: str) -> dict[str, Record]:
    """squeue output (build_status_command) -> records by native id; a pending array's unstarted tasks
    each get a record of their own."""
    records: dict[str, Record] = {}
    for line in text.splitlines():
        cols = line.split("|")
        if len(cols) < len(SQUEUE_FIELDS):
            continue
        job_id, array_id, state, reason, raw, start, end, nodes = (c.strip() for c in cols[:8])
        exit_status, sig = decode_wait_status(int(raw)) if raw.isdigit() else (None, None)
        for native in _expand_pending(array_id):
            records[native] = Record(
                native_id=native,
                job_id=job_id,
                state=state.split()[0] if state else "",
                reason=reason if reason != "None" else "",
                exit_status=exit_status,
                signal=sig,
                start=local_time(start, TIME_FORMAT),
                end=local_time(end, TIME_FORMAT),
                nodes=nodes,
            )
    return records


def build_sacct_command(job_ids: Sequence[str], jobcomp: bool = False) -> list[str]:
    """sacct for jobs squeue no longer knows. ``jobcomp`` reads the job completion log (``sacct -c``)
    instead of slurmdbd; it knows raw job ids only (not "123_4")."""
    cmd = ["sacct", "--noheader", "--parsable2", f"--jobs={','.join(job_ids)}"]
    cmd.append(f"--format={','.join(SACCT_FIELDS)}")
    if jobcomp:
        cmd.insert(1, "--completion")
    return cmd


def parse_duration(text: str) -> float | None:
    """sacct's [DD-][HH:]MM:SS[.mmm] -> seconds."""
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", text.strip())
    if not m:
        return None
    days, hours, minutes, seconds = m.groups()
    return ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes)) * 60 + float(seconds)


def parse_memory_kib(text: str) -> int | None:
    """sacct's MaxRSS ("1234K", "12.5M", "2G", "512") -> KiB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", text.strip())
    if not m:
        return None
    scale = {"": 1 / 1024, "K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}[m.group(2)]
    return round(float(m.group(1)) * scale)


def parse_sacct(text: str) -> dict[str, Record]:
    """sacct --parsable2 output (build_sacct_command) -> records by job id as printed ("123", "123_4"),
    with CPU time and the largest MaxRSS of the job's steps ("123.batch") folded in."""
    records: dict[str, Record] = {}
    steps: dict[str, list[int]] = {}
    for line in text.splitlines():
        cols = line.split("|")
        if len(cols) < len(SACCT_FIELDS):
            continue
        job, raw, state, code, start, end, nodes, cpu, rss = (c.strip() for c in cols[:9])
        if "." in job:
            rss_kib = parse_memory_kib(rss)
            found = steps.setdefault(job.split(".", 1)[0], [])
            if rss_kib is not None:
                found.append(rss_kib)
            continue
        exit_part, _, sig_part = code.partition(":")
        sig = int(sig_part) if sig_part.isdigit() and int(sig_part) else None
        records[job] = Record(
            native_id=job,
            job_id=raw or job,
            state=state.split()[0] if state else "",
            exit_status=None if sig is not None or not exit_part.isdigit() else int(exit_part),
            signal=sig,
            start=local_time(start, TIME_FORMAT),
            end=local_time(end, TIME_FORMAT),
            nodes=nodes if nodes not in ("None assigned", "(null)") else "",
            cpu_time=parse_duration(cpu) if cpu else None,
            max_rss=parse_memory_kib(rss) if rss else None,
        )
    for job, values in steps.items():
        if job in records:
            rec = records[job]
            peak = max([*values, rec.max_rss or 0]) if values else rec.max_rss
            records[job] = Record(**{**rec.__dict__, "max_rss": peak, "stepped": True})
    return records


def job_changes(rec: Record) -> dict[str, Any]:
    """What a record says about a job, as ``JobInfo`` fields: state, annotation, exit status, signal,
    dispatch and finish time, machine."""
    state = STATE_MAP.get(rec.state, JobState.UNDETERMINED)
    if state is JobState.QUEUED and rec.reason in HELD_REASONS:
        state = JobState.QUEUED_HELD
    changes: dict[str, Any] = {"state": state}
    started = rec.start is not None and state not in (JobState.QUEUED, JobState.QUEUED_HELD)
    # A job cancelled before it ran has no exit status at all (Slurm reports 0 and no node), and no start:
    # Slurm stamps its cancel time there.
    ran = started and (rec.state != "CANCELLED" or bool(rec.nodes) or bool(rec.exit_status or rec.signal))
    if ran:
        changes["dispatch_time"] = rec.start
        if rec.nodes:
            changes["machine"] = rec.nodes
    if not state.final:
        # Slurm's reason is why the job is in this state (JobHeldUser, Priority): none once it runs, and an
        # old one must not outlive the state it explained.
        reason = rec.reason or None
        changes["annotation"] = f"pending: {reason}" if reason and state is JobState.QUEUED else reason
        return changes
    if rec.end is not None:
        changes["finish_time"] = rec.end
    exit_status, sig = (rec.exit_status, rec.signal) if ran else (None, None)
    if state is JobState.FAILED and exit_status == 0 and sig is None:
        # Cancelled or timed out with "0:0" (the completion log loses the signal): no status to pass on,
        # since 0 would read as success.
        exit_status = None
    changes["exit_status"] = exit_status
    changes["signal"] = sig
    how = describe_exit(exit_status, sig)
    why = _WHY.get(rec.state)
    if rec.state == "CANCELLED" and rec.reason == NEVER_REASON:
        why = "cancelled: a dependency failed"
    elif rec.state == "CANCELLED" and not ran:
        why = "cancelled before it started"
    if why is None and how is None and rec.reason:
        why = f"could not start ({rec.reason})" if rec.reason == "JobLaunchFailure" else rec.reason
    changes["annotation"] = "; ".join(p for p in (why, how) if p) or None
    if rec.cpu_time is not None:
        changes["cpu_time"] = rec.cpu_time
    if rec.max_rss is not None:
        changes["max_rss"] = rec.max_rss
    return changes


# --- control --------------------------------------------------------------------------------------------
def build_cancel_command(native_id: str, signal: int | None) -> list[str]:
    """scancel: the graceful default (SIGTERM, SIGKILL after KillWait) or exactly ``signal`` to the batch
    shell and every step (--full: a batch job's command runs in the batch step). Slurm turns
    ``--full --signal=KILL`` into a plain cancel (SIGTERM first), so SIGKILL goes to the batch step only;
    its steps end with it."""
    if signal is None:
        return ["scancel", native_id]
    scope = "--batch" if signal == 9 else "--full"
    return ["scancel", scope, f"--signal={signal}", native_id]


def build_control_command(action: str, native_id: str) -> list[str]:
    """scontrol hold/release/suspend/resume."""
    return ["scontrol", action, native_id]


def mail_options(template: JobTemplate) -> list[str]:
    """sbatch's own mail options for ``--mail-type``/``--mail-user`` (the words are sbatch's already); none
    when no mail is asked for. Slurm's MailProg sends the mail."""
    if not template.mail_types:
        return []
    words = [f"--mail-type={','.join(template.mail_types)}"]
    return words + ([f"--mail-user={','.join(template.email)}"] if template.email else [])

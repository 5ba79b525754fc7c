"""The pure half of the libdrmaa backend: a job template as the agent's submission orders, DRMAA v1 job states
as drmaa2's, and the result of a DRMAA ``wait`` as a job's fields. Tested without a library."""

from __future__ import annotations

import os
import signal as signals
from typing import Any

from ...errors import InvalidArgument
from ...models import ArraySpec, JobInfo, JobState, JobTemplate
from ..sched import NATIVE_ID, common
from ..sched.gridengine_cmd import mail_options

#: DRMAA's placeholder for a bulk job's task index in a path (``runBulkJobs``).
INDEX_PLACEHOLDER = "$drmaa_incr_ph$"
#: The variable that holds an array task's index, on the schedulers whose DRMAA libraries drmaa2 knows (Grid
#: Engine, PBS Pro, Torque, LSF), as a shell expansion: the first one set.
TASK_INDEX = "{SGE_TASK_ID:-${PBS_ARRAY_INDEX:-${PBS_ARRAYID:-${LSB_JOBINDEX:-}}}}"

#: DRMAA v1 ``jobStatus`` answers -> drmaa2 states; "done" and "failed" are left to the keeper's result.
STATES = {
    "undetermined": JobState.UNDETERMINED,
    "queued_active": JobState.QUEUED,
    "system_on_hold": JobState.QUEUED_HELD,
    "user_on_hold": JobState.QUEUED_HELD,
    "user_system_on_hold": JobState.QUEUED_HELD,
    "running": JobState.RUNNING,
    "system_suspended": JobState.SUSPENDED,
    "user_suspended": JobState.SUSPENDED,
    "user_system_suspended": JobState.SUSPENDED,
}
ENDED = ("done", "failed")
#: Written as a job's annotation when it ended with nobody in its DRMAA session to be told how.
LOST = "ended while no drmaa2 keeper waited in its DRMAA session: the library kept no exit status"


def orders(
    template: JobTemplate, paths: common.Paths, script: str, array: ArraySpec | None, job_ids: list[str],
    results: str,
) -> dict[str, Any]:
    """What the keeper submits: ``/bin/sh SCRIPT`` (the script execs the job's exact command, see
    ``common.job_script``), with the template's name, directory, streams, hold, the scheduler's queue (a local
    queue is the core's, never here), its mail options (qsub's ``-m``/``-M``) and the native options."""
    # The scheduler's own id in a name it gives (NATIVE_ID): Grid Engine fills its pseudo variable $JOB_ID in
    # a path whatever submitted the job; DRMAA v1 has no placeholder of its own for it.
    own = "$JOB_ID" if array is None else f"$JOB_ID.{INDEX_PLACEHOLDER}"

    def path(p: str | None) -> str | None:
        return None if p is None else p.replace(common.TASK_MARK, INDEX_PLACEHOLDER).replace(NATIVE_ID, own)

    return {
        "command": "/bin/sh", "args": [script], "cwd": paths.working_dir,
        "name": template.job_name or _basename(template.remote_command),
        "output": path(paths.output), "error": path(paths.error), "input": path(paths.input),
        "hold": template.submit_as_hold, "queue": template.queue_name,
        "native": common.native_options(template),
        # Mail is the scheduler's own (Grid Engine's -m/-M in the native specification): drmaa2 sends none.
        "mail": mail_options(template),
        "bulk": None if array is None else [array.first, array.last, array.step],
        "max_parallel": None if array is None else array.max_parallel,
        "job_ids": job_ids, "results": results, "submit_dir": os.getcwd(),
    }


def _basename(command: str) -> str:
    return command.rstrip("/").rsplit("/", 1)[-1] or "drmaa2"


def check_array(array: ArraySpec) -> None:
    """DRMAA's bulk jobs are one range counting from 1 (runBulkJobs). Raises InvalidArgument."""
    common.check_array(array)
    if array.only is not None:
        raise InvalidArgument("a DRMAA v1 array (bulk job) is one range FIRST-LAST[:STEP], not a list")
    if array.first < 1:
        raise InvalidArgument("a DRMAA v1 array's (bulk job's) indices start at 1")


def state_of(answer: str) -> JobState | None:
    """The drmaa2 state of a ``jobStatus`` answer; None for done/failed (the keeper's result tells more)."""
    return STATES.get(answer)


def _number(usage: dict[str, Any], key: str) -> float | None:
    try:
        value = float(usage[key])
    except (KeyError, TypeError, ValueError):
        return None
    return value


def signal_number(name: str | None) -> int | None:
    """"SIGKILL" -> 9; None for a name this machine does not know."""
    if not name:
        return None
    try:
        return int(signals.Signals[name if name.startswith("SIG") else f"SIG{name}"])
    except KeyError:
        return None


def apply_result(job: JobInfo, result: dict[str, Any]) -> JobInfo:
    """``job`` ended as the keeper's ``wait`` said: exit status or signal, times and usage. A job aborted
    before it ran (deleted while queued or held) has neither; one the scheduler deleted while it ran (SIGKILL)
    has the signal from its usage's exit status (128+N)."""
    usage = result.get("usage") or {}
    exit_status: int | None = None
    sig: int | None = None
    if result.get("exited"):
        exit_status = int(result.get("exit_status") or 0)
    elif result.get("signaled"):
        sig = signal_number(result.get("signal"))
    elif result.get("aborted"):
        code = _number(usage, "exit_status")
        if code is not None and 128 < code < 128 + 65 and _number(usage, "start_time"):
            sig = int(code) - 128
    start, end = _number(usage, "start_time"), _number(usage, "end_time")
    cpu = _number(usage, "cpu")
    if cpu is None:
        user, system = _number(usage, "ru_utime"), _number(usage, "ru_stime")
        cpu = None if user is None and system is None else (user or 0.0) + (system or 0.0)
    rss = _number(usage, "ru_maxrss")
    if "lost" in result:
        annotation: str | None = f"{LOST} ({result['lost']})"
    elif result.get("aborted") and sig is None:
        annotation = "deleted before it ran"
    else:
        annotation = common.describe_exit(exit_status, sig)
    state = JobState.DONE if exit_status == 0 else JobState.FAILED
    return common.times_in_order(job.evolve(
        state=state, exit_status=exit_status, signal=sig, annotation=annotation,
        dispatch_time=start if start else job.dispatch_time,
        finish_time=end if end else result.get("at") or job.finish_time,
        cpu_time=cpu, max_rss=int(rss) if rss else None,
    ))

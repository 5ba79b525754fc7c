"""How a job ended, in the same words and numbers on every backend: one place builds the annotations that
``status`` shows and decides exit status versus signal, so that a job moved to another backend reads alike.

The process backend's shepherd keeps its own copy of these words: it imports nothing outside the interpreter
(see ``process/shepherd.py``); ``tests/conformance`` holds both to the same text.
"""

from __future__ import annotations

import signal as signals
from collections.abc import Mapping
from typing import Any

from ..models import JobInfo, JobState

#: Seconds between the SIGTERM of `drmaa2 kill` (or a timeout) and the SIGKILL that follows it.
GRACE_SECONDS = 5.0
#: Exit statuses that a shell (and Docker, and Cloud Foundry) reports for a process killed by signal N: 128+N.
_SIGNALLED = range(129, 128 + 65)
#: What a shell's exit status means when the command itself could not be run.
_SHELL_STATUS = {126: "command cannot be run", 127: "command not found"}


def signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def split_status(code: int | None) -> tuple[int | None, int | None]:
    """(exit status, signal) of a platform that reports only a number, 128+N for signal N (Docker, Cloud
    Foundry): read as a shell reads ``$?``. A job that itself exits 143 is then shown killed by SIGTERM there."""
    if code is not None and code in _SIGNALLED:
        return None, code - 128
    return code, None


def killed_by(sent: int | str | None, code: int | None) -> int | None:
    """The signal that ended a container, if drmaa2 sent it, on a platform that shows only the exit code 128+N
    (Docker, Kubernetes). ``sent`` is what the backend recorded when it stopped the job: "stop" (SIGTERM, then
    SIGKILL after the grace), "timeout", "overdue" (a SIGKILL long past the timeout), a signal number, or None."""
    if sent is None or code is None or code <= 128:
        return None
    got = code - 128
    if sent in ("stop", "timeout", "overdue"):
        return got if got in (signals.SIGTERM, signals.SIGKILL) else None
    return got if sent == got else None


def of_exit_code(code: int, oom: bool = False, error: str = "") -> dict[str, Any]:
    """The result fields (state, exit status or signal, annotation) of a container that ended on its own with
    ``code``, on a platform that shows only that number (Docker, Kubernetes): done with 0, killed by signal N
    with 128+N, failed with its status otherwise. ``oom``: the platform says a process inside was OOM killed;
    ``error``: the platform's own message, added to the annotation of a failure when there was no OOM kill."""
    if code == 0:
        return {"state": "done", "exit_status": 0}
    status, signal = split_status(code)
    if signal is not None:
        return {"state": "failed", "signal": signal, "annotation": by_signal(signal)}
    note = " (a process was OOM killed)" if oom else (f": {error}" if error else "")
    return {"state": "failed", "exit_status": status, "annotation": exited(code) + note}


def exited(status: int) -> str:
    """"exited with status 3"; 126 and 127 say what a shell means by them."""
    note = _SHELL_STATUS.get(status)
    return f"exited with status {status}" + (f" ({note})" if note else "")


def says_more_than_its_status(exit_status: int | None, signal: int | None, annotation: str | None) -> bool:
    """Whether a job's annotation tells more than its own exit status does (killed, timed out, never started,
    an engine's note): decided on the fields, the annotation held against the words its status alone gets."""
    if not annotation:
        return False
    return signal is not None or exit_status is None or annotation != exited(exit_status)


def by_signal(number: int) -> str:
    """A signal drmaa2 did not send: "killed by signal 9 (SIGKILL)"."""
    return f"killed by signal {number} ({signal_name(number)})"


def escalation(number: int | None, escalated: bool) -> str | None:
    """How a graceful stop ended: "SIGTERM", or "SIGKILL after SIGTERM was ignored for 5s"."""
    if number is None:
        return None
    if escalated and number == signals.SIGKILL:
        return f"SIGKILL after SIGTERM was ignored for {GRACE_SECONDS:g}s"
    return signal_name(number)


def killed(number: int, escalated: bool = False) -> str:
    """Ended by `drmaa2 kill`: "killed by drmaa2 kill (SIGTERM)"; ``escalated`` when the SIGKILL came only
    after SIGTERM did nothing for the grace period (not when the user asked for SIGKILL)."""
    return f"killed by drmaa2 kill ({escalation(number, escalated)})"


def timed_out(limit: float | None, number: int | None = None, escalated: bool = False) -> str:
    """"timed out after 3s", with " (SIGKILL after SIGTERM was ignored for 5s)" when that is how it ended."""
    text = f"timed out after {seconds(limit)}"
    if escalated and number == signals.SIGKILL:
        text += f" ({escalation(number, escalated)})"
    return text


KILLED_BEFORE_START = "killed by drmaa2 kill before it started"


def dependency_failed(ids: list[str], why: str | None = None) -> str:
    """A job that never ran because a job it depends on did not succeed: "dependency 4 failed (exited with
    status 1)"; when the platform does not say which of several it was, "one of dependencies 4, 5 failed"."""
    text = f"dependency {ids[0]} failed" if len(ids) == 1 else f"one of dependencies {', '.join(ids)} failed"
    return text + (f" ({why})" if why else "")


def out_of_memory(limit: int | None) -> str:
    """A job the kernel's OOM killer ended inside its own cgroup, known for sure (not guessed from timing):
    "out of memory: OOM killed (memory limit 100 MiB)"; ``limit`` in bytes."""
    return "out of memory: OOM killed" + (f" (memory limit {limit // 2**20} MiB)" if limit else "")


def with_result(job: JobInfo, result: Mapping[str, Any]) -> JobInfo:
    """``job`` as its stored result says it ended (the result files of the container backends: state, exit
    status, signal, annotation, times, usage, machine); what the result does not name is kept."""
    return job.evolve(
        state=JobState(result["state"]),
        exit_status=result.get("exit_status"),
        signal=result.get("signal"),
        annotation=result.get("annotation"),
        dispatch_time=result.get("dispatch_time") or job.dispatch_time,
        finish_time=result.get("finish_time"),
        cpu_time=result.get("cpu_time", job.cpu_time),
        max_rss=result.get("max_rss", job.max_rss),
        machine=result.get("machine") or job.machine,
    )


def seconds(value: float | None) -> str:
    """A time limit as an annotation says it, to a tenth of a second: "3s" (a deadline's 2.987 s too), "1.5s"."""
    return f"{round(float(value or 0), 1):g}s"

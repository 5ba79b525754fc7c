"""The mark of a deferred start: what drmaa2 keeps in a record's ``backend_data`` about a job it holds back
(``deferred/``) or retries. Every module that reads or writes the mark -- the wrapper and the runner process,
the local queues, the retries, ``alter`` and ``requeue``, the store's check of a record -- does it through the
names here, so the mark's keys and types are known in one place.

A leaf: the store checks every record it reads (``check_data``), and the store must not load the deferred
family that sits above it.

``backend_data["deferred"]`` (the on-disk key of schema version 1, kept so that stores written before keep
working): {"after", "mode", "max_parallel", "runner", "runner_start"}, and "slots" (the local queue or session
pool whose slot it waits for), "begin" (its start time), when set. ``backend_data["retrier"]``: [pid, start
ticks] of the runner that retries the job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from .models import FINAL_STATES, JobInfo, JobState
from .procfs import alive, proc_start, process_of

KEY = "deferred"
RETRIER = "retrier"
_TYPES: dict[str, tuple[type, ...]] = {
    "after": (list,), "mode": (str,), "max_parallel": (int,), "runner": (int,), "runner_start": (int,),
    "slots": (str,), "begin": (int, float),
}
WAITING_FOR_SLOT = "waiting for a slot"
#: The states of a job its runner may start: queued, or requeued (a retry, ``drmaa2 requeue``).
STARTABLE = frozenset({JobState.QUEUED, JobState.REQUEUED})


def check_data(data: Mapping[str, Any]) -> str | None:
    """What is wrong with the mark in a record's backend data (for the store's check), or None."""
    if KEY not in data:
        return None
    info = data[KEY]
    if info is None:  # null is allowed for every backend data key
        return None
    if not isinstance(info, dict):
        return f"backend data {KEY} has the wrong type"
    for key, allowed in _TYPES.items():
        value = info.get(key)
        if key in info and value is not None and (isinstance(value, bool) or not isinstance(value, allowed)):
            return f"backend data {key} has the wrong type"
    if not all(isinstance(a, str) for a in info.get("after") or []):
        return "a dependency is not a job id"
    return None


def waiting(job: JobInfo) -> bool:
    """Whether ``job`` is held back by its runner (not handed to its platform yet)."""
    return KEY in job.backend_data


def of(job: JobInfo) -> dict[str, Any]:
    """``job``'s mark ({} when it has none)."""
    mark = job.backend_data.get(KEY)
    return mark if isinstance(mark, dict) else {}


def of_record(rec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The mark of a stored record (a dict as the store holds it), or None."""
    mark = rec.get("backend_data", {}).get(KEY)
    return mark if isinstance(mark, dict) else None


def with_mark(job: JobInfo, mark: Mapping[str, Any]) -> dict[str, Any]:
    """``job``'s backend data with ``mark`` as its mark."""
    return {**job.backend_data, KEY: dict(mark)}


def without_mark(job: JobInfo) -> dict[str, Any]:
    """``job``'s backend data without its mark (the job is handed to its platform)."""
    return {k: v for k, v in job.backend_data.items() if k != KEY}


def new(runner: tuple[int, int | None], after: list[str] | None = None, mode: str = "ok",
        max_parallel: int | None = None, slots: str | None = None, begin: float | None = None) -> dict[str, Any]:
    """A mark: the job waits for ``runner`` (pid, start ticks) to start it."""
    mark: dict[str, Any] = {"after": list(after or []), "mode": mode, "max_parallel": max_parallel,
                            "runner": runner[0], "runner_start": runner[1]}
    if slots is not None:
        mark["slots"] = slots
    if begin is not None:
        mark["begin"] = begin
    return mark


def waiting_note(mark: Mapping[str, Any], now: float | None = None) -> str | None:
    """The annotation of a job held back for its start time or a slot (None for the other reasons)."""
    begin = mark.get("begin")
    if isinstance(begin, int | float) and begin > (time.time() if now is None else now):
        from .when import local_text

        return f"waiting until {local_text(begin)}"
    return WAITING_FOR_SLOT if mark.get("slots") else None


def runner_alive(job: JobInfo) -> bool:
    """The runner that holds ``job`` back is alive."""
    info = of(job)
    pid = info.get("runner")
    return pid is not None and alive(int(pid), info.get("runner_start"))


def held_by(job: JobInfo, runner: tuple[int, int]) -> bool:
    """``job`` waits, not ended, for ``runner`` to start it."""
    mark = job.backend_data.get(KEY)
    return (isinstance(mark, dict) and not job.state.final
            and (mark.get("runner"), mark.get("runner_start")) == runner)


def pending_record(rec: Mapping[str, Any]) -> bool:
    """A stored record of a job not ended and not held back (its runner handed it to its platform)."""
    return rec["state"] not in FINAL_STATES and KEY not in rec.get("backend_data", {})


def retrier_of(job: JobInfo) -> tuple[int, int] | None:
    """The runner that retries ``job`` (pid, start ticks), or None."""
    return process_of(job.backend_data.get(RETRIER))


def retrier_alive(job: JobInfo) -> bool:
    who = retrier_of(job)
    return who is not None and alive(*who)


#: How a session's slots are named where a local queue's name goes (in a job's mark, the runners' registry).
SESSION_PREFIX = "session:"


def session_pool(session: str) -> str:
    """The name of session ``session``'s slots (``[sessions.NAME] slots = N``)."""
    return SESSION_PREFIX + session


_ME: tuple[int, int] | None = None


def me() -> tuple[int, int]:
    """This process as a runner's mark names it: pid and /proc start time."""
    global _ME
    if _ME is None or _ME[0] != os.getpid():
        _ME = os.getpid(), proc_start(os.getpid()) or 0
    return _ME

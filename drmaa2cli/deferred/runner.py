"""The runner process (``drmaa2 _runner``, spawned by a submission whose jobs start later): it waits for their
dependencies, start times and slots, starts them (``starting.start_one``), and then stays while one of them may
be retried (``watcher.py``)."""

from __future__ import annotations

import time

from .. import mark
from ..backends import ending
from ..errors import JobNotFound, WaitTimeout
from ..models import JobInfo, JobState
from . import queues
from .starting import Core, start_one
from .watcher import keep_retries
from .wrapper import POLL_SECONDS


def _mine(svc: Core, number: int, runner: tuple[int, int]) -> list[JobInfo]:
    return [j for j in svc.store.snapshot().tasks(number) if mark.held_by(j, runner)]


def _wait_for_dependencies(svc: Core, number: int, runner: tuple[int, int]) -> list[JobInfo]:
    """Wait until the dependencies of ``runner``'s jobs of ``number`` ended, then take them off their marks;
    the jobs (none when they were killed, removed, handed to another runner by ``drmaa2 alter --after``, or
    failed because a dependency did). Their mark is read again every second: ``alter --after`` changes it."""
    while True:
        jobs = _mine(svc, number, runner)
        after = list(mark.of(jobs[0]).get("after") or []) if jobs else []
        if not after:
            return jobs
        try:
            deps = svc.wait(after, 1.0)
        except WaitTimeout:
            continue
        except JobNotFound as e:
            svc.fail(jobs, f"dependency gone: {e}")
            return []
        failed = next((d for d in deps if d.state is not JobState.DONE), None)
        mode = mark.of(jobs[0]).get("mode")
        with svc.store.transaction() as txn:
            current = [j for j in txn.tasks(number) if mark.held_by(j, runner)]
            if [mark.of(j).get("after") for j in current] != [after] * len(current):
                continue  # altered meanwhile: wait for the new dependencies
            if failed is not None and mode != "any":
                why = ending.dependency_failed([failed.id], failed.annotation or failed.state.value)
                txn.put_many([j.evolve(state=JobState.FAILED, annotation=why, finish_time=time.time())
                              for j in current], create=False)
                return []
            ready = []
            for job in current:
                held = {**mark.of(job), "after": []}
                ready.append(job.evolve(backend_data=mark.with_mark(job, held),
                                        annotation=mark.waiting_note(held)))
            txn.put_many(ready, create=False)
        return ready


def run(svc: Core, number: int) -> None:
    """Start the jobs of ``number`` this runner holds: after their dependencies, at their start time, in their
    local queue's or session's slots, at most max_parallel at once; then, while one may be retried, see that
    its retries start (``_keep_retries``)."""
    runner = mark.me()
    jobs = _wait_for_dependencies(svc, number, runner)
    while jobs:
        pools = sorted({str(p) for j in jobs if (p := mark.of(j).get("slots"))})
        if pools:
            for pool in pools:
                queues.serve(svc, pool)  # the queue's runner starts the job
        for n in sorted({j.number for j in jobs}):
            _start_waiting(svc, n, runner)
        jobs = keep_retries(svc, runner)


def _start_waiting(svc: Core, number: int, runner: tuple[int, int]) -> None:
    """Start the jobs of ``number`` held by ``runner`` (not those waiting for a slot: their queue's runner
    starts them) once their start time came, at most max_parallel of the number at once."""
    while True:
        jobs = svc.resolve_ids([str(number)])
        queue = [j for j in jobs if mark.held_by(j, runner) and not mark.of(j).get("slots")]
        if not queue:
            return
        running = [j for j in svc.refresh([j for j in jobs if not mark.waiting(j)]) if not j.state.final]
        max_parallel = mark.of(queue[0]).get("max_parallel") or len(jobs)
        now = time.time()
        due = [j for j in queue if j.state in mark.STARTABLE and (mark.of(j).get("begin") or 0) <= now]
        room = max_parallel - len(running)
        startable = due[: max(0, room)]
        for job in startable:
            start_one(svc, job)
        if startable and room > len(startable):
            continue
        begins = [b - now for j in queue if isinstance(b := mark.of(j).get("begin"), int | float)]
        pause = max(0.01, min([POLL_SECONDS if not begins else 1.0, *(b for b in begins if b > 0)]))
        if running and room <= len(startable):
            svc.backend(running[0].backend).wait_any(running, min(1.0, pause))
        else:
            time.sleep(pause)  # held jobs: a release changes the record; a start time comes

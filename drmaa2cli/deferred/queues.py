"""Local queues: at most N jobs of a queue run at once (``[queues.NAME] slots = N``), with no daemon.

A job submitted to a local queue gets the runner every deferred start gets (``runner.py``). Once its
dependencies are done, that runner joins the queue: under the store lock it either finds the queue's runner
alive (registered in the live file's meta, ``queue_runners``) and hands its jobs over (their marks then name that
runner, so a status sees them looked after), or it becomes the queue's runner. The queue's runner starts waiting
jobs while the queue has free slots, highest priority first, then in submission order, once their start time
has come; it exits, under the same lock, when no job of the queue waits any more, and the next submit's runner
then finds none and takes over. Only the registered runner starts a queue's jobs, and it counts the started
ones under the lock before each round: concurrent submitters cannot push a queue past its slots.

A session's slots (``[sessions.NAME] slots = N``) are a pool of the same kind, named ``session:NAME``: they
count the session's jobs on every backend that are in no local queue (a job in a local queue waits for that
queue's slots only).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .. import mark
from ..models import FINAL_STATES, JobInfo, JobState, order
from ..procfs import alive, process_of
from .starting import Core, start_one

#: The live file's meta entry: queue name -> [pid, start ticks] of its runner.
META = "queue_runners"
#: How long the queue's runner waits before it looks again for new jobs, releases and start times.
LOOK_SECONDS = 0.5


def owned(rec: Mapping[str, Any], name: str) -> bool:
    """The record is of a job waiting for a slot of queue ``name`` (its dependencies, if any, done)."""
    held = mark.of_record(rec)
    return (held is not None and held.get("slots") == name and not held.get("after")
            and rec["state"] not in FINAL_STATES)


def slots_of(settings: Any, name: str) -> int | None:
    """How many jobs of pool ``name`` (a local queue, or a session's slots) may run at once; None when the
    config no longer has it."""
    if name.startswith(mark.SESSION_PREFIX):
        return settings.session_slots.get(name[len(mark.SESSION_PREFIX):])  # type: ignore[no-any-return]
    return settings.queues.get(name)  # type: ignore[no-any-return]


def started(rec: Mapping[str, Any], name: str, local: Collection[str] = ()) -> bool:
    """The record is of a job of pool ``name`` handed to its platform and not known to have ended. A
    session's pool counts the session's jobs that are in no local queue (``local``: the local queues): a job in
    a local queue waits for that queue's slots only."""
    if mark.of_record(rec) is not None or rec["state"] in FINAL_STATES:
        return False
    queue = rec.get("template", {}).get("queue_name")
    if name.startswith(mark.SESSION_PREFIX):
        return rec.get("session") == name[len(mark.SESSION_PREFIX):] and queue not in local
    return queue == name  # type: ignore[no-any-return]


def serve(svc: Core, name: str) -> None:
    """Be the runner of queue ``name`` until no job waits in it, or hand over to the one that is."""
    me = mark.me()
    while True:
        snap = svc.store.snapshot()
        local = svc.settings.queues
        running = [JobInfo.from_record(r) for r in snap.live_records() if started(r, name, local)]
        if running:  # ended jobs free their slots only once their records say so
            running = [j for j in svc.refresh(running) if not j.state.final]
        now = time.time()
        with svc.store.transaction() as txn:
            registry = dict(txn.meta_doc().get(META) or {})
            holder = process_of(registry.get(name))
            mine = [JobInfo.from_record(r) for r in txn.live_records() if owned(r, name)]
            if holder is not None and holder != me and alive(*holder):
                txn.put_many(_changed([_claimed(j, holder, j.annotation) for j in mine], mine), create=False)
                return
            slots = slots_of(svc.settings, name)
            if not mine or slots is None:
                registry.pop(name, None)
                txn.set_meta(**{META: registry})
                if mine:  # the queue left the config while jobs waited in it
                    session = name.removeprefix(mark.SESSION_PREFIX)
                    what = f"session {session}'s slots are" if session != name else f"local queue {name} is"
                    gone = f"never started: {what} no longer in the config"
                    txn.put_many([j.evolve(state=JobState.FAILED, annotation=gone, finish_time=now) for j in mine],
                                 create=False)
                return
            if holder != me:
                registry[name] = list(me)
                txn.set_meta(**{META: registry})
            busy = [r for r in txn.live_records() if started(r, name, local)]
            chosen = _choose(mine, slots - len(busy), busy, now)
            picked = {j.id for j in chosen}
            claimed = [_claimed(j, me, j.annotation if j.id in picked else mark.waiting_note(mark.of(j), now))
                       for j in mine]
            txn.put_many(_changed(claimed, mine), create=False)
            chosen = [j for j in claimed if j.id in picked]  # as written: start_one compares them to the store
        for job in chosen:
            start_one(svc, job)
        if chosen:
            continue
        later = [b for j in mine if isinstance(b := mark.of(j).get("begin"), int | float) and b > now]
        timeout = max(0.01, min([LOOK_SECONDS, *(b - now for b in later)]))
        if running:  # woken by the platform when a job ends
            be = running[0].backend
            svc.backend(be).wait_any([j for j in running if j.backend == be], timeout)
        else:
            time.sleep(timeout)


def _claimed(job: JobInfo, runner: tuple[int, int], annotation: str | None) -> JobInfo:
    """``job`` looked after by ``runner`` (a status checks that this runner is alive)."""
    held = {**mark.of(job), "runner": runner[0], "runner_start": runner[1]}
    return job.evolve(backend_data=mark.with_mark(job, held), annotation=annotation)


def _changed(new: list[JobInfo], old: list[JobInfo]) -> list[JobInfo]:
    """Only what differs: every write under the lock rewrites the live file."""
    return [n for n, o in zip(new, old, strict=True) if n != o]


def _choose(mine: list[JobInfo], free: int, busy: Sequence[Mapping[str, Any]], now: float) -> list[JobInfo]:
    """The jobs to start now: as many as there are free slots, highest priority first, then oldest; an
    array's tasks no more than its %MAXPARALLEL at once."""
    if free <= 0:
        return []
    begun = [j for j in mine if j.state in mark.STARTABLE and (mark.of(j).get("begin") or 0) <= now]
    begun.sort(key=lambda j: (-j.template.priority, order(j)))
    counts = Counter(int(str(r["id"]).split(".", 1)[0]) for r in busy)
    chosen: list[JobInfo] = []
    for job in begun:
        if len(chosen) >= free:
            break
        limit = mark.of(job).get("max_parallel")
        if isinstance(limit, int) and counts[job.number] >= limit:
            continue
        chosen.append(job)
        counts[job.number] += 1
    return chosen

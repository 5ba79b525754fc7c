"""Long-polls without a thread each: one watcher task looks at every job some client waits for, all of them in
one core call per round, and wakes the clients whose jobs ended. 64 clients waiting cost one refresh a round,
not 64 threads."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..errors import Drmaa2Error
from ..models import JobInfo
from ..service import Service

#: How the watcher runs a core call: the server's bounded pool (``ServerState.call``).
Call = Callable[[Callable[[Service], Any]], Awaitable[tuple[Any, list[str]]]]
#: The first look after a job is waited for, and the longest gap between looks (doubling in between).
FIRST_LOOK = 0.05
LONGEST_GAP = 0.5


def _look(svc: Service, ids: list[str]) -> dict[str, list[JobInfo]]:
    """Each id's jobs as they are now, all in one refresh; an id that fails (a job removed meanwhile) is left
    out: its waiters' time-out answers them."""
    try:
        jobs = svc.jobs(ids)
    except Drmaa2Error:
        found = {}
        for job_id in ids:
            with contextlib.suppress(Drmaa2Error):
                found[job_id] = svc.jobs([job_id])
        return found
    return {i: [j for j in jobs if j.id == i or ("." not in i and j.id.startswith(i + "."))] for i in ids}


class Watcher:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.waiting: dict[str, set[anyio.Event]] = {}
        self.latest: dict[str, list[JobInfo]] = {}
        self._wake = anyio.Event()
        self._running = False

    async def wait(self, job_id: str, jobs: list[JobInfo], timeout: float) -> list[JobInfo]:
        """``jobs`` (the job or the tasks of array ``job_id``) once all have ended, or as they are after
        ``timeout`` seconds."""
        if all(j.state.final for j in jobs):
            return jobs
        event = anyio.Event()
        self.waiting.setdefault(job_id, set()).add(event)
        self._wake.set()
        try:
            with anyio.move_on_after(timeout):
                await event.wait()
        finally:
            events = self.waiting.get(job_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self.waiting[job_id]
        return self.latest.get(job_id, jobs)

    async def run(self) -> None:
        """The watcher's loop (one task of the server's task group, for its whole life)."""
        gap = FIRST_LOOK
        while True:
            if not self.waiting:
                self._wake = anyio.Event()
                await self._wake.wait()
                gap = FIRST_LOOK
            ids = list(self.waiting)
            found, _ = await self.call(functools.partial(_look, ids=ids))
            ended = False
            for job_id, jobs in found.items():
                self.latest[job_id] = jobs
                if all(j.state.final for j in jobs):
                    ended = True
                    for event in self.waiting.get(job_id, ()):
                        event.set()
            for job_id in [i for i in self.latest if i not in self.waiting]:
                del self.latest[job_id]
            self._wake = anyio.Event()
            gap = FIRST_LOOK if ended else min(LONGEST_GAP, gap * 2)
            with anyio.move_on_after(gap):
                await self._wake.wait()  # a new waiter is looked at at once
                gap = FIRST_LOOK

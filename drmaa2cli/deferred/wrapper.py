"""Deferred starts: job control a platform does not do itself (arrays with a throttle, dependencies across
backends, holds, start times, slots, retries), as one wrapper around the real backend. ``StartLater``
implements the backend contract (``backends.base.Backend``), the way httpx's transports wrap one another: the
core talks to it as to any backend and never asks whether a job has started yet.

A submission the platform cannot take as it is gets one detached ``drmaa2 _runner`` process (``runner.py``)
that starts the jobs later through the plain backend protocol, so no daemon ever has to be started by the user.
Like the process shepherd, the runner is spawned *before* the records are committed and receives the job number
on stdin only after the commit: a submitter that dies in between leaves no runner behind. Kill, hold and release
of a job the runner has not started yet only change its record (``held.py``); the runner reads the store before
each start.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import mark
from ..backends.base import Backend, Launch, StdinSink
from ..errors import Drmaa2Error, InvalidArgument, UnsupportedAttribute
from ..models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ..store import Store
from .launch import LaterLaunch, RunnerLaunch, Timed

if TYPE_CHECKING:
    from ..monitoring import MachineInfo, PlatformJob, QueueInfo

#: How often a wait looks again at jobs a runner holds (they change only in their records).
POLL_SECONDS = 0.2


class StartLater(Backend):
    """The real backend ``inner``, with every job-control feature: what it lacks natively is done by a runner.
    Subclassed per backend class (``wrap``) so that the class attributes the core reads are the real ones."""

    name = "runner"
    native_features = frozenset({"array", "after", "hold"})

    def __init__(self, inner: Backend, store: Store, queues: Mapping[str, int] | None = None,
                 session_slots: Mapping[str, int] | None = None) -> None:
        super().__init__(inner.ctx)
        self.inner, self.store = inner, store
        #: The local queues of the config: name -> slots; and the sessions with slots: name -> slots.
        self.local_queues: Mapping[str, int] = queues or {}
        self.session_slots: Mapping[str, int] = session_slots or {}

    # --- submission -------------------------------------------------------------------------------
    def prepare(self, template: JobTemplate, array: ArraySpec | None = None,
                after: Dependencies | None = None, session: str | None = None) -> Launch:
        """The real backend's launch when the platform does all that is asked (``after``: dependencies not
        ended yet), else one that leaves the start to a runner. ``session``: the job session, whose slots
        (``[sessions.NAME] slots = N``) the job may have to wait for."""
        pending = after.jobs if after is not None else []
        limit = self.inner.parallel_limit(array) if array is not None else None
        if array is not None and limit != array.max_parallel:  # `%0`, or no `%N` where the backend has a default
            array = replace(array, max_parallel=limit)
        slots = self.pool(template, session)
        begin = template.start_time if template.start_time and template.start_time > time.time() else None
        wants = {f for f, on in (("array", array), ("after", pending), ("hold", template.submit_as_hold)) if on}
        if (wants <= self.inner.native_features and all(d.backend == self.inner.name for d in pending)
                and slots is None and begin is None and not template.retries):
            native: dict[str, Any] = {}
            if array is not None:
                native["array"] = array
            if pending:
                native["after"] = after
            return self._timed(self.inner.prepare(self.for_platform(template), **native), template)
        launch = self.inner.prepare(self.for_platform(template))
        return LaterLaunch(launch, RunnerLaunch(self.ctx.home, self.ctx.environ), [d.id for d in pending],
                            after.mode if after is not None else "ok", array.max_parallel if array else None,
                            slots, begin)

    def pool(self, template: JobTemplate, session: str | None) -> str | None:
        """Whose slots the job waits for: its local queue's, else its session's (``queues.session_pool``);
        None when neither limits it."""
        local = self.local_queue(template)
        if local is not None or session is None or session not in self.session_slots:
            return local
        return mark.session_pool(session)

    def local_queue(self, template: JobTemplate) -> str | None:
        """The local queue ``template`` names (None: none, or a queue of the platform's own). A backend that
        declares the contract case "slots" refused (Slurm's and Grid Engine's ``--queue`` is their own partition
        or queue, whose limits they keep) refuses a local queue, never silently sent to the scheduler as a
        partition name; one that honours it takes a local queue first, any other name as its platform's."""
        name = template.queue_name
        if name is None:
            return None
        if name not in self.local_queues:
            if "queue_name" in self.inner.unsupported_fields:
                raise UnsupportedAttribute(f"the {self.name} backend cannot honour queue name {name}: a local "
                                           f"queue is set in the config file ([queues.{name}] slots = N)")
            return None
        if "queue_name" not in self.inner.unsupported_fields and "slots" in self.inner.refuses:
            raise UnsupportedAttribute(
                f"the {self.name} backend's --queue is the scheduler's own queue: local queue {name} "
                f"(slots in the config) is for the process, docker and cf backends"
            )
        return name

    def for_platform(self, template: JobTemplate) -> JobTemplate:
        """The template as the platform sees it: a local queue and the start time are the core's."""
        local = template.queue_name is not None and template.queue_name in self.local_queues
        timeout = template.timeout
        if template.deadline_time is not None:  # the platforms know run-time limits: the time left is one
            if "timeout" in self.inner.unsupported_fields:
                raise UnsupportedAttribute(f"the {self.name} backend cannot honour a deadline (it has no run-time "
                                           "limit)")
            from ..when import local_text

            left = template.deadline_time - time.time()
            if left <= 0:
                raise InvalidArgument(f"its deadline {local_text(template.deadline_time)} has passed")
            timeout = left if timeout is None else min(timeout, left)
        return replace(template, queue_name=None if local else template.queue_name, start_time=None,
                       deadline_time=None, timeout=timeout)

    def launch_now(self, template: JobTemplate) -> Launch:
        """A launch that starts the job at once on the platform (for the runner, which did the waiting)."""
        now = replace(template, submit_as_hold=False)
        return self._timed(self.inner.prepare(self.for_platform(now)), template)

    def _timed(self, launch: Launch, template: JobTemplate) -> Launch:
        if template.deadline_time is not None:
            launch = Timed(launch, self.for_platform(template).timeout)
        if template.mail_types or template.notify_command:
            from ..notify.watch import watched  # jobs that ask for notifications only: not on every submit

            launch = watched(launch, template, self.inner)  # what no process of the platform's sends
        return launch

    # --- observation ------------------------------------------------------------------------------
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Jobs the runner holds change only when it died before starting them (then they failed); the
        others are the platform's."""
        changed: list[JobInfo] = []
        for job in jobs:
            if mark.waiting(job) and not mark.runner_alive(job):
                fresh = self.store.snapshot().find(job.id)
                # A job handed to its queue's runner names that runner now (``queues.py``).
                if (fresh is not None and mark.waiting(fresh) and not fresh.state.final
                        and not mark.runner_alive(fresh)):
                    changed.append(job.evolve(
                        state=JobState.FAILED, finish_time=time.time(),
                        annotation="never started: its runner exited before starting it",
                    ))
                elif fresh is not None:
                    changed.append(fresh)
        started = [j for j in jobs if not mark.waiting(j)]
        found = self.inner.refresh(started) if started else []
        return [n for j in found if (n := self._next_or_end(j)) is not None] + changed

    def _next_or_end(self, job: JobInfo) -> JobInfo | None:
        """``job`` as its platform left it; if it failed with retries left and its runner is there to start
        them, its next attempt instead (``retries.py``) -- made by that runner alone, so that no copy of the
        job read earlier (another process's `wait`) makes a second one. Elsewhere such a job is left as it was
        recorded (None): its runner records the next attempt."""
        if not job.state.final:
            return job
        from . import retries  # only for a job that ended
        if job.template.retries:
            # A copy of an attempt that is over: its runner cleared what it left (so it looks "never started"
            # here) and recorded the next attempt, which the caller reads from the store.
            stored = self.store.snapshot().find(job.id)
            if stored is not None and stored.attempt > job.attempt:
                return None
        if not (retries.retry_due(job) and mark.retrier_alive(job)):
            return retries.with_count(job)
        retrier = mark.retrier_of(job)
        if retrier is None or retrier != mark.me():
            return None
        self._record_retry(job, retrier)
        return None

    def _record_retry(self, job: JobInfo, retrier: tuple[int, int]) -> None:
        """Record ``job``'s next attempt, held for this runner (or its slot's), then clear what the ended
        attempt left (its exit file, its container). In this order: a copy of the ended attempt read elsewhere
        finds the next one recorded before it could see the attempt's traces gone and take it as never
        started. Nothing is returned to write: the queue's runner may start the attempt at once."""
        from . import retries

        if retries.record_retry(self.store, job, retrier, self.pool(job.template, job.session)):
            with contextlib.suppress(Drmaa2Error):
                self.inner.cleanup(job)

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        started = [j for j in jobs if not mark.waiting(j)]
        if len(started) == len(jobs):
            self.inner.wait_any(jobs, timeout)
            return
        # The runner's jobs change only in their records: poll them, giving the started ones a short turn.
        if started:
            self.inner.wait_any(started, 0.02 if timeout is None else min(0.02, timeout))
        time.sleep(POLL_SECONDS if timeout is None else min(POLL_SECONDS, timeout))

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        return None if mark.waiting(job) else self.inner.output(job, stream)

    def will_follow(self) -> None:
        self.inner.will_follow()

    def follow_output(self, job: JobInfo, streams: Sequence[str],
                      offsets: Mapping[str, int]) -> Iterator[tuple[str, bytes]] | None:
        return None if mark.waiting(job) else self.inner.follow_output(job, streams, offsets)

    def attach_stdin(self, job: JobInfo) -> StdinSink:
        return self.inner.attach_stdin(job)

    # --- control ----------------------------------------------------------------------------------
    def control(self, action: str, jobs: Sequence[JobInfo], *args: object,
                before: Callable[[Sequence[JobInfo]], None] | None = None) -> list[JobInfo | Drmaa2Error | None]:
        """Jobs the runner holds change in their records only (all in one transaction; None is their outcome);
        jobs it started since they were read, and the others, go to the platform."""
        waiting = [j for j in jobs if mark.waiting(j)]
        if not waiting:
            return self.inner.control(action, jobs, *args, before=before)
        from . import held  # only a control of a job still held back: not loaded by a submit

        started = [j for j in jobs if not mark.waiting(j)]
        if before is not None and started:
            before(started)
        outcomes: dict[str, JobInfo | Drmaa2Error | None] = {}
        new = []
        for job in waiting:
            try:
                new.append(held.controlled(job, action))
            except Drmaa2Error as e:
                outcomes[job.id] = e
        taken = held.put(self.store, new)
        outcomes.update((j.id, None) for j in new)
        # Started by their runner since they were read: controlled through the platform after all.
        again = started + taken
        outcomes.update(zip((j.id for j in again), self.inner.control(action, again, *args), strict=True))
        return [outcomes[j.id] for j in jobs]

    # Removing a job: the per-job calls go to the platform as they are (``rm --force`` then removes the
    # record, and a runner finding its job gone starts nothing).
    def terminate(self, job: JobInfo, signal: int | None) -> None:
        self.inner.terminate(job, signal)

    def suspend(self, job: JobInfo) -> None:
        self.inner.suspend(job)

    def resume(self, job: JobInfo) -> None:
        self.inner.resume(job)

    def hold(self, job: JobInfo) -> None:
        self.inner.hold(job)

    def release(self, job: JobInfo) -> None:
        self.inner.release(job)

    def cleanup(self, job: JobInfo) -> None:
        if not mark.waiting(job):  # the platform never had it
            self.inner.cleanup(job)

    def cleanup_many(self, jobs: Sequence[JobInfo]) -> list[tuple[str, Drmaa2Error]]:
        return self.inner.cleanup_many([j for j in jobs if not mark.waiting(j)])

    # Monitoring is the platform's alone: the wrapper adds nothing to it.
    def machines(self) -> list[MachineInfo]:
        return self.inner.machines()

    def queues(self) -> list[QueueInfo]:
        return self.inner.queues()

    def platform_jobs(self) -> list[PlatformJob]:
        return self.inner.platform_jobs()

    def categories(self) -> list[str]:
        return self.inner.categories()


_WRAPPERS: dict[type[Backend], type[StartLater]] = {}
#: What the core reads of a backend's class (``Backend``'s class-level declarations): a wrapper carries the real
#: backend's, except the job control it does itself (``native_features``).
_DECLARED = tuple(n for n, a in Backend.__annotations__.items()
                  if str(a).startswith("ClassVar") and n != "native_features")


def wrap(inner: Backend, store: Store, queues: Mapping[str, int] | None = None,
         session_slots: Mapping[str, int] | None = None) -> StartLater:
    """``inner`` with deferred starts; the wrapper carries the real backend's name and class declarations.
    ``queues``: the local queues of the config (name -> slots); ``session_slots``: the sessions' (the same)."""
    cls = type(inner)
    if cls not in _WRAPPERS:
        attrs = {a: getattr(cls, a) for a in _DECLARED}
        _WRAPPERS[cls] = type(f"StartLater{cls.__name__}", (StartLater,), attrs)
    return _WRAPPERS[cls](inner, store, queues, session_slots)

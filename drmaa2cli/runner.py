"""Deferred starts: job control a platform does not do itself (arrays with a throttle, dependencies across
backends, holds), as one wrapper around the real backend. ``StartLater`` implements the backend contract
(``backends.base.Backend``), the way httpx's transports wrap one another: the core talks to it as to any
backend and never asks whether a job has started yet. This module alone knows the record's mark,
``backend_data["deferred"]`` (the on-disk key of schema version 1, kept so that stores written before keep
working).

A submission the platform cannot take as it is gets one detached ``drmaa2 _runner`` process that starts the
jobs later through the plain backend protocol, so no daemon ever has to be started by the user. Like the
process shepherd, the runner is spawned *before* the records are committed and receives the job number on
stdin only after the commit: a submitter that dies in between leaves no runner behind. Kill, hold and release
of a job the runner has not started yet only change its record; the runner reads the store before each start.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .backends import ending
from .backends.base import Backend, Launch, StdinSink
from .errors import Drmaa2Error, InvalidArgument, InvalidState, JobNotFound, UnsupportedAttribute, WaitTimeout
from .models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from .procfs import DetachedLaunch, alive, proc_start, process_of
from .retries import RETRIER, retried, retrier_alive, retrier_of, retry_due, truncate_outputs, with_count

if TYPE_CHECKING:
    from .monitoring import MachineInfo, PlatformJob, QueueInfo


class Store(Protocol):
    """What the runner uses of ``drmaa2cli.store.Store``, named here rather than imported: the store imports
    this module (its records' check, ``check_data``), and a module the store needs must not need the store."""

    def snapshot(self) -> Any: ...
    def transaction(self) -> AbstractContextManager[Any]: ...

POLL_SECONDS = 0.2
#: The mark of a job the runner has yet to start: {"after", "mode", "max_parallel", "runner", "runner_start"},
#: and "slots" (the local queue whose slot it waits for, ``queues.py``), "begin" (its start time), when set.
KEY = "deferred"
_FINAL = frozenset(s.value for s in JobState if s.final)
_TYPES: dict[str, tuple[type, ...]] = {
    "after": (list,), "mode": (str,), "max_parallel": (int,), "runner": (int,), "runner_start": (int,),
    "slots": (str,), "begin": (int, float),
}
WAITING_FOR_SLOT = "waiting for a slot"


def waiting(job: JobInfo) -> bool:
    """Whether ``job`` is held back by its runner (not handed to its platform yet)."""
    return KEY in job.backend_data


def check_data(data: Mapping[str, Any]) -> str | None:
    """What is wrong with the runner's part of a record's backend data (for ``store_check``), or None."""
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


class RunnerLaunch(DetachedLaunch):
    """A runner process started early, waiting for the job number."""

    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        # This process's environment with the submitter's settings over it (a library user's ``environ``: the
        # backends the runner starts jobs on read their credentials and engine addresses there, CF_HOME say).
        # Its errors (one line each) are kept for the user in HOME/runner.log.
        env = {**os.environ, **environ, "DRMAA2_HOME": str(home)}
        super().__init__(module="drmaa2cli", args=["_runner"], env=env, stderr_path=str(home / "runner.log"))

    def start(self, number: int) -> None:
        self.send(str(number).encode())


def waiting_note(mark: Mapping[str, Any], now: float | None = None) -> str | None:
    """The annotation of a job held back for its start time or a slot (None for the other reasons)."""
    begin = mark.get("begin")
    if isinstance(begin, int | float) and begin > (time.time() if now is None else now):
        from .when import local_text

        return f"waiting until {local_text(begin)}"
    return WAITING_FOR_SLOT if mark.get("slots") else None


def runner_alive(job: JobInfo) -> bool:
    info = job.backend_data.get(KEY, {})
    pid = info.get("runner")
    return pid is not None and alive(int(pid), info.get("runner_start"))


class _LaterLaunch(Launch):
    """A submission the runner starts: bound through the real backend's launch (paths, names), which is then
    abandoned, and marked for the runner."""

    def __init__(self, inner: Launch, runner: RunnerLaunch, after: list[str], mode: str,
                 max_parallel: int | None, slots: str | None = None, begin: float | None = None) -> None:
        self.inner, self.runner = inner, runner
        self.after, self.mode, self.max_parallel = after, mode, max_parallel
        self.slots, self.begin = slots, begin

    def bind(self, job: JobInfo) -> None:
        self.inner.bind(job)
        mark: dict[str, Any] = {
            "after": list(self.after), "mode": self.mode, "max_parallel": self.max_parallel,
            "runner": self.runner.pid, "runner_start": self.runner.ticks,
        }
        if self.slots is not None:
            mark["slots"] = self.slots
        if self.begin is not None:
            mark["begin"] = self.begin
        job.backend_data[KEY] = mark
        if job.template.retries:  # the runner stays to start the retries
            job.backend_data[RETRIER] = [self.runner.pid, self.runner.ticks]
        if not self.after:  # a dependency's wait says nothing: the job waits for that first
            job.annotation = waiting_note(mark)

    def start(self, job: JobInfo) -> JobInfo | None:
        self.start_all([job])
        return None

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        self.inner.abort()  # nothing starts now: the runner starts each job through a launch of its own
        self.runner.start(jobs[0].number)
        return []

    def abort(self) -> None:
        self.inner.abort()
        self.runner.abort()


class _Timed(Launch):
    """A launch whose jobs' records get the run-time limit their deadline leaves (a backend may read the limit
    from the record: docker's watchdog, its refresh)."""

    def __init__(self, inner: Launch, timeout: float | None) -> None:
        self.inner, self.timeout = inner, timeout

    def bind(self, job: JobInfo) -> None:
        job.template = replace(job.template, timeout=self.timeout)
        self.inner.bind(job)

    def start(self, job: JobInfo) -> JobInfo | None:
        return self.inner.start(job)

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        return self.inner.start_all(jobs)

    def abort(self) -> None:
        self.inner.abort()


def _timed(launch: Launch, template: JobTemplate, backend: StartLater) -> Launch:
    return launch if template.deadline_time is None else _Timed(launch, backend.for_platform(template).timeout)


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
            return _timed(self.inner.prepare(self.for_platform(template), **native), template, self)
        launch = self.inner.prepare(self.for_platform(template))
        return _LaterLaunch(launch, RunnerLaunch(self.ctx.home, self.ctx.environ), [d.id for d in pending],
                            after.mode if after is not None else "ok", array.max_parallel if array else None,
                            slots, begin)

    def pool(self, template: JobTemplate, session: str | None) -> str | None:
        """Whose slots the job waits for: its local queue's, else its session's (``queues.session_pool``);
        None when neither limits it."""
        local = self.local_queue(template)
        if local is not None or session is None or session not in self.session_slots:
            return local
        from .queues import session_pool

        return session_pool(session)

    def local_queue(self, template: JobTemplate) -> str | None:
        """The local queue ``template`` names (None: none, or a queue of the platform's own). A scheduler's
        ``--queue`` is its own partition or queue, whose limits it keeps: a local queue there is refused,
        never silently sent to the scheduler as a partition name."""
        name = template.queue_name
        if name is None:
            return None
        if name not in self.local_queues:
            if "queue_name" in self.inner.unsupported_fields:
                raise UnsupportedAttribute(f"the {self.name} backend cannot honour queue name {name}: a local "
                                           f"queue is set in the config file ([queues.{name}] slots = N)")
            return None
        if "queue_name" not in self.inner.unsupported_fields:
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
            from .when import local_text

            left = template.deadline_time - time.time()
            if left <= 0:
                raise InvalidArgument(f"its deadline {local_text(template.deadline_time)} has passed")
            timeout = left if timeout is None else min(timeout, left)
        return replace(template, queue_name=None if local else template.queue_name, start_time=None,
                       deadline_time=None, timeout=timeout)

    def launch_now(self, template: JobTemplate) -> Launch:
        """A launch that starts the job at once on the platform (for the runner, which did the waiting)."""
        now = replace(template, submit_as_hold=False)
        return _timed(self.inner.prepare(self.for_platform(now)), template, self)

    # --- observation ------------------------------------------------------------------------------
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Jobs the runner holds change only when it died before starting them (then they failed); the
        others are the platform's."""
        changed: list[JobInfo] = []
        for job in jobs:
            if waiting(job) and not runner_alive(job):
                fresh = self.store.snapshot().find(job.id)
                # A job handed to its queue's runner names that runner now (``queues.py``).
                if fresh is not None and waiting(fresh) and not fresh.state.final and not runner_alive(fresh):
                    changed.append(job.evolve(
                        state=JobState.FAILED, finish_time=time.time(),
                        annotation="never started: its runner exited before starting it",
                    ))
                elif fresh is not None:
                    changed.append(fresh)
        started = [j for j in jobs if not waiting(j)]
        found = self.inner.refresh(started) if started else []
        return [n for j in found if (n := self._next_or_end(j)) is not None] + changed

    def _next_or_end(self, job: JobInfo) -> JobInfo | None:
        """``job`` as its platform left it; if it failed with retries left and its runner is there to start
        them, its next attempt instead (``retries.py``) -- made by that runner alone, so that no copy of the
        job read earlier (another process's `wait`) makes a second one. Elsewhere such a job is left as it was
        recorded (None): its runner records the next attempt."""
        if not job.state.final:
            return job
        if job.template.retries:
            # A copy of an attempt that is over: its runner cleared what it left (so it looks "never started"
            # here) and recorded the next attempt, which the caller reads from the store.
            stored = self.store.snapshot().find(job.id)
            if stored is not None and stored.attempt > job.attempt:
                return None
        if not (retry_due(job) and retrier_alive(job)):
            return with_count(job)
        retrier = retrier_of(job)
        if retrier is None or retrier != me():
            return None
        self._record_retry(job, retrier)
        return None

    def _record_retry(self, job: JobInfo, retrier: tuple[int, int]) -> None:
        """Record ``job``'s next attempt, held for this runner (or its slot's), then clear what the ended
        attempt left (its exit file, its container). In this order: a copy of the ended attempt read elsewhere
        finds the next one recorded before it could see the attempt's traces gone and take it as never
        started. Nothing is returned to write: the queue's runner may start the attempt at once."""
        mark: dict[str, Any] = {"after": [], "mode": "ok", "max_parallel": None, "runner": retrier[0],
                                "runner_start": retrier[1]}
        pool = self.pool(job.template, job.session)
        if pool is not None:
            mark["slots"] = pool
        with self.store.transaction() as txn:
            current = txn.find(job.id)
            if (current is None or current.attempt != job.attempt or current.state.final
                    or "terminate_requested" in current.backend_data):
                return  # ended otherwise (drmaa2 kill asked for it): the next look records that
            txn.put(retried(job, mark))
        with contextlib.suppress(Drmaa2Error):
            self.inner.cleanup(job)

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        started = [j for j in jobs if not waiting(j)]
        if len(started) == len(jobs):
            self.inner.wait_any(jobs, timeout)
            return
        # The runner's jobs change only in their records: poll them, giving the started ones a short turn.
        if started:
            self.inner.wait_any(started, 0.02 if timeout is None else min(0.02, timeout))
        time.sleep(POLL_SECONDS if timeout is None else min(POLL_SECONDS, timeout))

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        return None if waiting(job) else self.inner.output(job, stream)

    def will_follow(self) -> None:
        self.inner.will_follow()

    def follow_output(self, job: JobInfo, streams: Sequence[str],
                      offsets: Mapping[str, int]) -> Iterator[tuple[str, bytes]] | None:
        return None if waiting(job) else self.inner.follow_output(job, streams, offsets)

    def attach_stdin(self, job: JobInfo) -> StdinSink:
        return self.inner.attach_stdin(job)

    # --- control ----------------------------------------------------------------------------------
    def control(self, action: str, jobs: Sequence[JobInfo], *args: object,
                before: Callable[[Sequence[JobInfo]], None] | None = None) -> list[JobInfo | Drmaa2Error | None]:
        """Jobs the runner holds change in their records only (all in one transaction; None is their outcome);
        jobs it started since they were read, and the others, go to the platform."""
        held = [j for j in jobs if waiting(j)]
        if not held:
            return self.inner.control(action, jobs, *args, before=before)
        started = [j for j in jobs if not waiting(j)]
        if before is not None and started:
            before(started)
        outcomes: dict[str, JobInfo | Drmaa2Error | None] = {}
        new = []
        for job in held:
            try:
                new.append(self._control_deferred(job, action))
            except Drmaa2Error as e:
                outcomes[job.id] = e
        taken = self._put_deferred(new)
        outcomes.update((j.id, None) for j in new)
        # Started by their runner since they were read: controlled through the platform after all.
        again = started + taken
        outcomes.update(zip((j.id for j in again), self.inner.control(action, again, *args), strict=True))
        return [outcomes[j.id] for j in jobs]

    def _control_deferred(self, job: JobInfo, action: str) -> JobInfo:
        """Kill, hold or release a job its runner has not started: only its record changes."""
        if action == "terminate":
            reason = ending.KILLED_BEFORE_START
            return job.evolve(state=JobState.FAILED, annotation=reason, finish_time=time.time())
        requeued = job.state in (JobState.REQUEUED, JobState.REQUEUED_HELD)
        if action == "hold":
            return job.evolve(state=JobState.REQUEUED_HELD if requeued else JobState.QUEUED_HELD)
        if action == "release":
            if not job.state.held:
                raise InvalidState(f"job {job.id} is not held")
            return job.evolve(state=JobState.REQUEUED if requeued else JobState.QUEUED)
        raise InvalidState(f"job {job.id} has not started yet")

    def _put_deferred(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Write the new records of jobs their runner has not started, in one transaction, except those the
        runner took out of its queue since they were read (it does that under the store lock before it
        starts a job): their current records are returned instead, and nothing of theirs is written."""
        if not jobs:
            return []
        wanted = {j.id for j in jobs}
        with self.store.transaction() as txn:
            # One pass over the live records (an array may have thousands of tasks); archived ones are final.
            taken = [
                JobInfo.from_record(r) for r in txn.live_records()
                if r["id"] in wanted and r["state"] not in _FINAL and KEY not in r.get("backend_data", {})
            ]
            gone = {j.id for j in taken}
            txn.put_many([j for j in jobs if j.id not in gone], create=False)
        return taken

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
        if not waiting(job):  # the platform never had it
            self.inner.cleanup(job)

    def cleanup_many(self, jobs: Sequence[JobInfo]) -> list[tuple[str, Drmaa2Error]]:
        return self.inner.cleanup_many([j for j in jobs if not waiting(j)])

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


def wrap(inner: Backend, store: Store, queues: Mapping[str, int] | None = None,
         session_slots: Mapping[str, int] | None = None) -> StartLater:
    """``inner`` with deferred starts; the wrapper carries the real backend's name and class attributes.
    ``queues``: the local queues of the config (name -> slots); ``session_slots``: the sessions' (the same)."""
    cls = type(inner)
    if cls not in _WRAPPERS:
        kept = ("name", "unsupported_fields", "honours", "local_refresh", "local_input", "attaches_stdin",
                "refuses")
        attrs = {a: getattr(cls, a) for a in kept}
        _WRAPPERS[cls] = type(f"StartLater{cls.__name__}", (StartLater,), attrs)
    return _WRAPPERS[cls](inner, store, queues, session_slots)


# --- the runner process --------------------------------------------------------------------------------
class Core(Protocol):
    """What the runner uses of ``drmaa2cli.service.Service`` (named here, not imported: no import cycle)."""

    @property
    def store(self) -> Store: ...

    def backend(self, name: str) -> Backend: ...
    def resolve_ids(self, ids: Iterable[str]) -> list[JobInfo]: ...
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]: ...
    def wait(self, ids: Sequence[str], timeout: float | None = None) -> list[JobInfo]: ...
    def persist(self, jobs: Iterable[JobInfo]) -> None: ...
    def fail(self, jobs: Iterable[JobInfo], reason: str) -> None: ...

    @property
    def settings(self) -> Any: ...


def read_number() -> int | None:
    data = sys.stdin.buffer.read().strip()
    return int(data) if data.isdigit() else None


def start_one(svc: Core, job: JobInfo) -> None:
    """Start one deferred job unless it was killed, held or altered meanwhile (checked under the store lock)."""
    be = svc.backend(job.backend)
    try:
        # The runner has done the waiting: the job starts now, whatever the template asked for.
        if isinstance(be, StartLater):
            launch = be.launch_now(job.template)
        else:
            launch = be.prepare(replace(job.template, submit_as_hold=False))
    except Drmaa2Error as e:
        svc.fail([job], f"could not start: {e}")
        return
    data = {k: v for k, v in job.backend_data.items() if k != KEY}
    noted = waiting_note(job.backend_data.get(KEY, {}), 0.0) is not None or bool(job.attempts)
    # On its platform the job is queued (or running) like any other; "requeued" was drmaa2's holding it back.
    annotation = f"attempt {job.attempt}" if job.attempts else (None if noted else job.annotation)
    bound = job.evolve(backend_data=data, annotation=annotation, state=JobState.QUEUED)
    launch.bind(bound)
    if RETRIER in data:  # a backend's bind may have set its data afresh
        bound.backend_data[RETRIER] = data[RETRIER]
    with svc.store.transaction() as txn:
        current = txn.find(job.id)
        if current is None or current.state not in STARTABLE or not waiting(current):
            launch.abort()
            return
        if (current.template != job.template or current.backend_data.get(KEY) != job.backend_data.get(KEY)
                or current.attempt != job.attempt):
            launch.abort()  # altered (``drmaa2 alter``) since read: started with the new record, next round
            return
        txn.put(bound)
        if bound.annotation is None and noted:
            txn.clear(job.id, "annotation")  # "waiting for a slot" is over
    if job.attempts:
        truncate_outputs(bound)
    try:
        updated = launch.start(bound)
    except Drmaa2Error as e:
        svc.fail([bound], f"could not start: {e}")
        return
    if updated is not None:
        svc.persist([updated])


#: The states of a job its runner may start: queued, or requeued (a retry, ``drmaa2 requeue``).
STARTABLE = frozenset({JobState.QUEUED, JobState.REQUEUED})


_ME: tuple[int, int] | None = None


def me() -> tuple[int, int]:
    """This process as a runner's mark names it: pid and /proc start time."""
    global _ME
    if _ME is None or _ME[0] != os.getpid():
        _ME = os.getpid(), proc_start(os.getpid()) or 0
    return _ME


def held_by(job: JobInfo, runner: tuple[int, int]) -> bool:
    """``job`` waits, not ended, for ``runner`` to start it."""
    mark = job.backend_data.get(KEY)
    return (isinstance(mark, dict) and not job.state.final
            and (mark.get("runner"), mark.get("runner_start")) == runner)


def _mine(svc: Core, number: int, runner: tuple[int, int]) -> list[JobInfo]:
    return [j for j in svc.store.snapshot().tasks(number) if held_by(j, runner)]


def _wait_for_dependencies(svc: Core, number: int, runner: tuple[int, int]) -> list[JobInfo]:
    """Wait until the dependencies of ``runner``'s jobs of ``number`` ended, then take them off their marks;
    the jobs (none when they were killed, removed, handed to another runner by ``drmaa2 alter --after``, or
    failed because a dependency did). Their mark is read again every second: ``alter --after`` changes it."""
    while True:
        jobs = _mine(svc, number, runner)
        after = list(jobs[0].backend_data[KEY].get("after") or []) if jobs else []
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
        mode = jobs[0].backend_data[KEY].get("mode")
        with svc.store.transaction() as txn:
            current = [j for j in txn.tasks(number) if held_by(j, runner)]
            if [j.backend_data[KEY].get("after") for j in current] != [after] * len(current):
                continue  # altered meanwhile: wait for the new dependencies
            if failed is not None and mode != "any":
                why = ending.dependency_failed([failed.id], failed.annotation or failed.state.value)
                txn.put_many([j.evolve(state=JobState.FAILED, annotation=why, finish_time=time.time())
                              for j in current], create=False)
                return []
            ready = []
            for job in current:
                mark = {**job.backend_data[KEY], "after": []}
                ready.append(job.evolve(backend_data={**job.backend_data, KEY: mark},
                                        annotation=waiting_note(mark)))
            txn.put_many(ready, create=False)
        return ready


def run(svc: Core, number: int) -> None:
    """Start the jobs of ``number`` this runner holds: after their dependencies, at their start time, in their
    local queue's or session's slots, at most max_parallel at once; then, while one may be retried, see that
    its retries start (``_keep_retries``)."""
    runner = me()
    jobs = _wait_for_dependencies(svc, number, runner)
    while jobs:
        pools = sorted({str(p) for j in jobs if (p := j.backend_data[KEY].get("slots"))})
        if pools:
            from . import queues  # the queue's runner starts the job (and waits for its start time)

            for pool in pools:
                queues.serve(svc, pool)
        for n in sorted({j.number for j in jobs}):
            _start_waiting(svc, n, runner)
        jobs = _keep_retries(svc, runner)


def _start_waiting(svc: Core, number: int, runner: tuple[int, int]) -> None:
    """Start the jobs of ``number`` held by ``runner`` (not those waiting for a slot: their queue's runner
    starts them) once their start time came, at most max_parallel of the number at once."""
    while True:
        jobs = svc.resolve_ids([str(number)])
        queue = [j for j in jobs if held_by(j, runner) and not j.backend_data[KEY].get("slots")]
        if not queue:
            return
        running = [j for j in svc.refresh([j for j in jobs if not waiting(j)]) if not j.state.final]
        max_parallel = queue[0].backend_data[KEY].get("max_parallel") or len(jobs)
        now = time.time()
        due = [j for j in queue if j.state in STARTABLE and (j.backend_data[KEY].get("begin") or 0) <= now]
        room = max_parallel - len(running)
        startable = due[: max(0, room)]
        for job in startable:
            start_one(svc, job)
        if startable and room > len(startable):
            continue
        begins = [b - now for j in queue if isinstance(b := j.backend_data[KEY].get("begin"), int | float)]
        pause = max(0.01, min([POLL_SECONDS if not begins else 1.0, *(b for b in begins if b > 0)]))
        if running and room <= len(startable):
            svc.backend(running[0].backend).wait_any(running, min(1.0, pause))
        else:
            time.sleep(pause)  # held jobs: a release changes the record; a start time comes


#: The live file's meta entry: [pid, start ticks] of the runner watching the home's jobs that may be retried.
RETRY_META = "retry_runner"


def _keep_retries(svc: Core, runner: tuple[int, int]) -> list[JobInfo]:
    """Hand the started jobs this runner retries to the home's retry runner and exit ([]), or be that runner:
    watch every job it retries until one is to run again (returned, held by this runner) or none is left ([]).
    One runner watches them all, so a job with --retries costs one Python process per home, not one each; it
    is registered only while it watches, so a runner busy starting jobs is never handed more."""
    with svc.store.transaction() as txn:
        holder = process_of(txn.meta_doc().get(RETRY_META))
        mine = [JobInfo.from_record(r) for r in txn.live_records() if _retried_by(r, runner)]
        if not mine:
            return []
        if holder is not None and holder != runner and alive(*holder):
            txn.put_many([j.evolve(backend_data={**j.backend_data, RETRIER: list(holder)}) for j in mine],
                         create=False)
            return []
        txn.set_meta(**{RETRY_META: list(runner)})
    try:
        return _watch(svc, runner)
    finally:
        with svc.store.transaction() as txn:
            if process_of(txn.meta_doc().get(RETRY_META)) == runner:
                txn.set_meta(**{RETRY_META: None})


def _retried_by(rec: Mapping[str, Any], runner: tuple[int, int]) -> bool:
    """The record is of a job not ended that ``runner`` retries (started, or held for its next attempt)."""
    data = rec.get("backend_data") or {}
    return (rec["state"] not in _FINAL and isinstance(data, dict)
            and process_of(data.get(RETRIER)) == runner)


def _watch(svc: Core, runner: tuple[int, int]) -> list[JobInfo]:
    """Watch the jobs ``runner`` retries until one of them is to run again (they are returned, held by this
    runner again) or all have ended for good ([]; decided under the store lock, so that a runner handing jobs
    over meanwhile finds this one gone or sees them watched)."""
    while True:
        jobs = [JobInfo.from_record(r) for r in svc.store.snapshot().live_records() if _retried_by(r, runner)]
        again = [j for j in jobs if held_by(j, runner)]
        if again:
            return again
        watched = [j for j in jobs if not waiting(j)]
        if not watched:
            with svc.store.transaction() as txn:
                if any(_retried_by(r, runner) for r in txn.live_records()):
                    continue
                txn.set_meta(**{RETRY_META: None})
            return []
        fresh = svc.refresh(watched)  # a failure with retries left: its next attempt is in the store now
        if any(j.state is not old.state for j, old in zip(fresh, watched, strict=True)):
            continue
        backends = {j.backend for j in fresh}
        if len(backends) == 1:
            svc.backend(fresh[0].backend).wait_any(fresh, 1.0)
        else:
            time.sleep(POLL_SECONDS)

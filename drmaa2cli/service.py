"""The core: job sessions, submission, status, waiting and control, dispatched to backends.

Everything the CLI does goes through ``Service``; it is equally usable from Python (see ``session.py`` for
the DRMAA2-style wrapper). It raises ``Drmaa2Error`` subclasses only; mapping them to exit codes is the
CLI's job.
"""

from __future__ import annotations

import os
import pwd
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import config
from . import runner as runner_mod
from .backends import Backend, BackendContext, backend_class, ending
from .errors import (
    BackendUnavailable,
    Drmaa2Error,
    ExitStatus,
    InvalidArgument,
    InvalidState,
    JobNotFound,
    SessionNotFound,
    StoreError,
    WaitTimeout,
)
from .models import JOB_ID, ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from .store import Store, Transaction

# ASCII only, and \Z rather than $ (which also matches before a final newline): "ci\n" is no session name,
# and "\u0661" (an Arabic-Indic digit, which int() reads as 1) no job id.
SESSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}\Z", re.ASCII)
DEFAULT_LIMIT = 100
#: How long `wait` rides out a backend that cannot be reached before it gives up (exit 203).
UNAVAILABLE_PATIENCE = 60.0
# A submit folds ended jobs into its own write once more than FOLD_ABOVE jobs of its backend look active in the
# live file, FOLD_BATCH of the oldest at a time: with nothing but submits running (a CI loop, 64 concurrent
# submitters) the live file would otherwise grow without end, and with it every write under the lock.
FOLD_ABOVE = 64
FOLD_BATCH = 32
FINAL_STATES = frozenset(s.value for s in JobState if s.final)
#: The states in which a control action changes a job; a task named through its array id in another state is
#: skipped (see ``Service._control``).
APPLIES = {
    "terminate": frozenset(s for s in JobState if not s.final),
    "hold": frozenset({JobState.QUEUED, JobState.REQUEUED, JobState.UNDETERMINED}),
    "release": frozenset({JobState.QUEUED_HELD, JobState.REQUEUED_HELD, JobState.UNDETERMINED}),
    "suspend": frozenset({JobState.RUNNING, JobState.UNDETERMINED}),
    "resume": frozenset({JobState.SUSPENDED, JobState.UNDETERMINED}),
}
#: A job named alone that is already where the action would take it is left as it is (holding a held job is
#: no error, as with qhold and scontrol hold).
ALREADY = {
    "terminate": frozenset(), "hold": frozenset({JobState.QUEUED_HELD, JobState.REQUEUED_HELD}),
    "release": frozenset(), "suspend": frozenset({JobState.SUSPENDED}), "resume": frozenset(),
}
REFUSED = {
    "terminate": "job {id} has already ended ({state})", "hold": "job {id} has started ({state}); only queued "
    "jobs can be held", "release": "job {id} is not held ({state})", "suspend": "job {id} is not running "
    "({state})", "resume": "job {id} is not suspended ({state})",
}
PAST = {"terminate": "killed", "hold": "held", "release": "released", "suspend": "suspended", "resume": "resumed"}


@dataclass
class SessionSummary:
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return sum(n for state, n in self.counts.items() if not JobState(state).final)


def check_session_name(name: str) -> str:
    if not SESSION_NAME.match(name):
        raise InvalidArgument(
            f"invalid session name {name!r}: use letters, digits and . _ @ - (at most 64 characters)"
        )
    return name


def exit_code_of(jobs: Sequence[JobInfo]) -> int:
    """The wait exit-code contract: 0 when every job is done, else the highest of the jobs' codes
    (exit status, 128+signal, or 207 for a job that ended without an exit status)."""
    if all(j.state is JobState.DONE for j in jobs):
        return 0
    codes = [j.exit_code() for j in jobs if j.state.final]
    return max(ExitStatus.NO_EXIT_STATUS if c is None else c for c in codes) if codes else 0


class Service:
    """One drmaa2 home and its settings. Cheap to create; backends are loaded on first use."""

    def __init__(
        self, settings: config.Settings | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.settings = settings or config.resolve(environ=self.environ)
        self.store = Store(self.settings.home)
        self._backends: dict[str, Backend] = {}
        #: Things worth telling the user that did not stop the operation (printed on stderr by the CLI).
        self.warnings: list[str] = []

    # --- backends -------------------------------------------------------------------------------------
    def backend(self, name: str) -> Backend:
        if name not in self._backends:
            cls = backend_class(name)
            instance = "local" if name == "process" else self.store.instance()
            ctx = BackendContext(
                home=self.settings.home,
                instance=instance,
                settings=self.settings.backend_settings(name),
                environ=self.environ,
            )
            self._backends[name] = cls(ctx)
        return self._backends[name]

    # --- submission -----------------------------------------------------------------------------------
    def submit(
        self, template: JobTemplate, session: str | None = None, backend: str | None = None
    ) -> JobInfo:
        """Start one job and return its info (see ``submit_jobs``)."""
        return self.submit_jobs(template, session, backend)[0]

    def submit_jobs(
        self,
        template: JobTemplate,
        session: str | None = None,
        backend: str | None = None,
        array: ArraySpec | None = None,
        after: Sequence[str] = (),
        after_mode: str = "ok",
    ) -> list[JobInfo]:
        """Submit a job, or an array of tasks ``N.i``; returns their records.

        ``after`` names jobs that must end first: all done (``after_mode`` "ok") or whatever their result
        ("any"). A job whose dependency already failed is recorded failed at once, never left pending.
        Raises InvalidArgument for a bad template, JobNotFound for an unknown dependency,
        BackendUnavailable/DeniedByDrms when the platform cannot take it (no record is written then),
        StoreError when the store cannot be written."""
        if not template.remote_command:
            raise InvalidArgument("no command given: put the command after `--`")
        if after_mode not in ("ok", "any"):
            raise InvalidArgument(f"unknown dependency mode {after_mode!r}")
        session = check_session_name(session or self.settings.session)
        name = backend or self.settings.backend
        be = self.backend(name)
        deps = self.refresh(self.resolve_ids(after)) if after else []
        blocking = next((d for d in deps if d.state.final and d.state is not JobState.DONE), None)
        if after_mode == "any":
            blocking = None
        pending = [d for d in deps if not d.state.final]
        wants = {f for f, on in (("array", array), ("after", pending), ("hold", template.submit_as_hold)) if on}
        deferred = blocking is None and (
            not wants <= be.native_features or any(d.backend != name for d in pending)
        )
        native: dict[str, Any] = {}
        if not deferred and array is not None:
            native["array"] = array
        if not deferred and blocking is None and pending:
            native["after"] = Dependencies(pending, after_mode)
        launch = be.prepare(template, **native)
        runner = runner_mod.RunnerLaunch(self.settings.home, self.environ) if deferred else None
        now = time.time()
        try:
            with self.store.transaction() as txn:
                txn.add_session(session)
                number = txn.allocate()
                jobs = []
                for index in array.indices if array is not None else [None]:
                    job_id = str(number) if index is None else f"{number}.{index}"
                    job = JobInfo(
                        id=job_id,
                        session=session,
                        backend=name,
                        state=JobState.QUEUED_HELD if template.submit_as_hold else JobState.QUEUED,
                        template=with_placeholders(template, number, index),
                        submission_time=now,
                        submission_machine=os.uname().nodename,  # gethostname(2) without importing socket
                        job_owner=pwd.getpwuid(os.getuid()).pw_name,
                    )
                    launch.bind(job)
                    if blocking is not None:
                        job.state, job.finish_time = JobState.FAILED, now
                        job.annotation = ending.dependency_failed([blocking.id], blocking.annotation or "failed")
                    elif runner is not None:
                        job.backend_data["deferred"] = {
                            "after": [d.id for d in pending],
                            "mode": after_mode,
                            "max_parallel": array.max_parallel if array else None,
                            "runner": runner.pid,
                            "runner_start": runner.ticks,
                        }
                    jobs.append(job)
                txn.put_many(jobs)
                self._fold_ended(txn, be)
        except BaseException:
            launch.abort()
            if runner is not None:
                runner.abort()
            raise
        if blocking is not None or runner is not None:
            launch.abort()  # nothing starts now: failed at once, or started later by the runner
            if runner is not None:
                runner.start(number)
            return jobs
        try:
            updated = {j.id: j for j in launch.start_all(jobs)}
        except Drmaa2Error as e:
            self.fail(jobs, f"could not start: {e}")
            raise type(e)(f"job {number} could not start: {e}") from e
        if updated:
            self.persist(updated.values())
        return [updated.get(j.id, j) for j in jobs]

    def _fold_ended(self, txn: Transaction, be: Backend) -> None:
        """Record the end of the oldest jobs of ``be`` that ended since anyone looked (see FOLD_ABOVE). Only
        for a backend whose refresh reads local files, so that a submit never waits on a network."""
        if not be.local_refresh:
            return
        active = [r for r in txn.live_records() if r["backend"] == be.name and r["state"] not in FINAL_STATES
                  and "deferred" not in r.get("backend_data", {})]
        if len(active) <= FOLD_ABOVE:
            return
        oldest = [JobInfo.from_record(r) for r in active[:FOLD_BATCH]]
        txn.put_many([j for j in be.refresh(oldest) if j.state.final], create=False)

    # --- reading --------------------------------------------------------------------------------------
    def persist(self, jobs: Iterable[JobInfo]) -> None:
        """Write changed infos of existing jobs (a final record is never changed)."""
        jobs = list(jobs)
        if jobs:
            with self.store.transaction() as txn:
                txn.put_many(jobs, create=False)

    def fail(self, jobs: Iterable[JobInfo], reason: str) -> None:
        """Record jobs that will never run as failed with ``reason``."""
        now = time.time()
        self.persist(j.evolve(state=JobState.FAILED, annotation=reason, finish_time=now) for j in jobs)

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Ask each job's backend about the active ones; persist and return the up-to-date list.
        A backend that cannot be asked leaves its jobs as last known, with a warning."""
        by_backend: dict[str, list[JobInfo]] = {}
        changed: dict[str, JobInfo] = {}
        for job in jobs:
            if job.state.final:
                continue
            if "deferred" in job.backend_data:
                # Not handed to its backend yet: only its runner can fail it.
                if not runner_mod.runner_alive(job):
                    fresh = self.store.snapshot().find(job.id)
                    if fresh is not None and "deferred" in fresh.backend_data and not fresh.state.final:
                        changed[job.id] = job.evolve(
                            state=JobState.FAILED, finish_time=time.time(),
                            annotation="never started: its runner exited before starting it",
                        )
                    elif fresh is not None:
                        changed[job.id] = fresh
                continue
            by_backend.setdefault(job.backend, []).append(job)
        for name, group in by_backend.items():
            try:
                be = self.backend(name)
                found = be.refresh(group)
                if not be.local_refresh:
                    found = self._kill_marks_for_ended(be, group, found)
                for new in found:
                    changed[new.id] = new
            except BackendUnavailable as e:
                self.warnings.append(f"{name}: {e} (showing the last known state)")
        if not changed:
            return list(jobs)
        try:
            self.persist(changed.values())
        except StoreError as e:
            # Reading must not depend on writing (a full disk, a home made read-only): the new states are
            # shown as found, and a later command records them (their source -- exit files, the engine, the
            # API -- still has them).
            note = f"cannot record the jobs' new states: {e}"
            if note not in self.warnings:
                self.warnings.append(note)
        return [changed.get(j.id, j) for j in jobs]

    def _kill_marks_for_ended(self, be: Backend, group: list[JobInfo], found: list[JobInfo]) -> list[JobInfo]:
        """``found`` (what ``be.refresh(group)`` returned), with the jobs it saw end looked at again with the kill
        mark (see ``_mark_terminated``) that another command stored since ``group`` was read: a `wait` started
        before a `kill` must see it when the platform reports only "cancelled". Read after the refresh: the mark
        is stored before the kill is sent, so an end caused by our kill finds it. Only for backends whose
        refresh asks a platform anyway, and only when a job ended."""
        ended = {j.id for j in found if j.state.final and "terminate_requested" not in j.backend_data}
        if not ended:
            return found
        snap = self.store.snapshot()
        marked = []
        for job in group:
            stored = snap.find(job.id) if job.id in ended else None
            if stored is not None and "terminate_requested" in stored.backend_data:
                mark = stored.backend_data["terminate_requested"]
                marked.append(job.evolve(backend_data={**job.backend_data, "terminate_requested": mark}))
        if not marked:
            return found
        again = {j.id: j for j in be.refresh(marked)}
        return [again.get(j.id, j) for j in found]

    def resolve_ids(self, ids: Iterable[str]) -> list[JobInfo]:
        """The records of ``ids`` ("12", or "12.3" for one array task; "12" names every task of array 12).
        Raises JobNotFound naming the first unknown id."""
        snap = self.store.snapshot()
        found: dict[str, JobInfo] = {}
        for job_id in ids:
            job_id = job_id.strip()
            if not JOB_ID.match(job_id):
                raise JobNotFound(f"unknown job id {job_id!r} (job ids look like 12 or 12.3)")
            jobs = [snap.get(job_id)] if "." in job_id else snap.tasks(int(job_id))
            if not jobs:
                raise JobNotFound(f"unknown job id {job_id}")
            for job in sorted(jobs, key=_order):
                found[job.id] = job
        return list(found.values())

    def jobs(self, ids: Iterable[str]) -> list[JobInfo]:
        """Up-to-date info of the given jobs."""
        return self.refresh(self.resolve_ids(ids))

    def list_jobs(
        self,
        session: str | None = None,
        states: set[JobState] | None = None,
        name: str | None = None,
        limit: int | None = DEFAULT_LIMIT,
    ) -> tuple[list[JobInfo], bool]:
        """Every active job plus the ``limit`` most recent finished ones (None or 0: all), in job order,
        of one session (None: all sessions). Returns (jobs, whether older finished jobs were left out)."""
        limit = limit or None
        snap = self.store.snapshot()

        def wanted(rec: Mapping[str, object]) -> bool:
            if session is not None and rec["session"] != session:
                return False
            return name is None or rec.get("template", {}).get("job_name") == name  # type: ignore[attr-defined]

        live = self.refresh([JobInfo.from_record(r) for r in snap.live_records() if wanted(r)])
        seen = {j.id for j in live}
        finished = [j for j in live if j.state.final and (states is None or j.state in states)]
        active = [j for j in live if not j.state.final and (states is None or j.state in states)]
        truncated = False
        if states is None or any(s.final for s in states):
            for rec in snap.archived_records():
                if rec["id"] in seen or not wanted(rec):
                    continue
                if states is not None and JobState(rec["state"]) not in states:
                    continue
                if limit is not None and len(finished) >= limit + len(seen):
                    truncated = True
                    break
                finished.append(JobInfo.from_record(rec))
        finished.sort(key=_order, reverse=True)
        if limit is not None and len(finished) > limit:
            finished, truncated = finished[:limit], True
        return sorted(active + finished, key=_order), truncated

    # --- waiting --------------------------------------------------------------------------------------
    def wait(
        self,
        ids: Sequence[str],
        timeout: float | None = None,
        any_job: bool = False,
        on_progress: Callable[[list[JobInfo]], None] | None = None,
    ) -> list[JobInfo]:
        """Block until every job (or, with ``any_job``, one of them) has ended; returns their infos.
        ``on_progress`` sees the jobs each time they were looked at. Raises WaitTimeout when ``timeout``
        seconds pass first."""
        jobs = self.resolve_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        outage_since: float | None = None
        warned = False
        while True:
            jobs = self.refresh(jobs)
            if on_progress is not None:
                on_progress(jobs)
            pending = [j for j in jobs if not j.state.final]
            if not pending or (any_job and len(pending) < len(jobs)):
                return jobs
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(
                    f"timed out: {len(pending)} job(s) still active ({', '.join(j.id for j in pending[:5])})"
                )
            by_backend: dict[str, list[JobInfo]] = {}
            for job in pending:
                key = "" if "deferred" in job.backend_data else job.backend
                by_backend.setdefault(key, []).append(job)
            try:
                self._wait_turn(by_backend, remaining)
                outage_since = None
            except BackendUnavailable as e:
                # An engine restarting or an API hiccup: ride it out, but not forever.
                now = time.monotonic()
                outage_since = outage_since or now
                if now - outage_since > UNAVAILABLE_PATIENCE:
                    raise
                if not warned:
                    self.warnings.append(f"{e}; still waiting")
                    warned = True
                time.sleep(min(1.0, 0.1 + (now - outage_since) / 10))

    def _wait_turn(self, by_backend: dict[str, list[JobInfo]], remaining: float | None) -> None:
        """One event-driven wait on the pending jobs, grouped by backend ("" = not handed to one yet)."""
        if "" in by_backend:
            # Jobs a runner has yet to start: their records change, nothing else to wait on.
            del by_backend[""]
            for name, group in by_backend.items():
                self.backend(name).wait_any(group, 0.02)
            time.sleep(runner_mod.POLL_SECONDS)
        elif len(by_backend) == 1:
            (name, group), = by_backend.items()
            self.backend(name).wait_any(group, remaining)
        else:
            # Jobs on several backends: give each a short turn (rare; each turn is still event-driven).
            for name, group in by_backend.items():
                self.backend(name).wait_any(group, 0.05 if remaining is None else min(0.05, remaining))


    # --- control --------------------------------------------------------------------------------------
    def _control(self, ids: Sequence[str], action: str, *args: object) -> list[JobInfo]:
        """Apply ``action`` to the jobs named. A job or task named by its own id must be in a state the action
        applies to (else InvalidState, exit 205). A task named through its array id is skipped when the action
        does not apply to it (a running task is not held, a queued one not suspended, an ended one not
        killed); the array as a whole is an error only when the action applied to none of its tasks."""
        jobs = self.jobs(ids)
        named = {i.strip() for i in ids}
        errors: list[Drmaa2Error] = []
        updates: list[JobInfo] = []
        reached: dict[str, int] = {}  # array id -> tasks the action was applied to
        skipped: dict[str, list[JobInfo]] = {}  # array id -> tasks it did not apply to
        if action == "terminate":
            self._mark_terminated(
                [j for j in jobs if _applies(j, action) and "deferred" not in j.backend_data], args[0]
            )
        queued: dict[str, tuple[JobInfo, str | None]] = {}  # job id -> (new record, its array id)
        started: list[tuple[JobInfo, str | None]] = []
        for job in jobs:
            array = job.id.partition(".")[0] if "." in job.id and job.id not in named else None
            if array is not None:
                reached.setdefault(array, 0)
                if not _applies(job, action):
                    skipped.setdefault(array, []).append(job)
                    continue
            elif job.state.final:
                errors.append(InvalidState(f"job {job.id} has already ended ({job.state.value})"))
                continue
            elif not _applies(job, action):
                # Decided here, from the state, so that every backend answers alike (one that cannot hold at
                # all would otherwise say 204 for a job that has simply started).
                if job.state not in ALREADY[action]:
                    errors.append(InvalidState(REFUSED[action].format(id=job.id, state=job.state.value)))
                continue
            if "deferred" not in job.backend_data:
                started.append((job, array))
                continue
            try:
                queued[job.id] = (self._control_deferred(job, action), array)
            except Drmaa2Error as e:
                errors.append(e)
        # Jobs their runner started since they were read are controlled through their backend after all.
        taken = self._put_deferred([new for new, _ in queued.values()])
        for job in taken:
            started.append((job, queued.pop(job.id)[1]))
        for _, array in queued.values():
            if array is not None:
                reached[array] += 1
        for job, array in started:
            try:
                getattr(self.backend(job.backend), action)(job, *args)
                if action == "hold":
                    updates.append(job.evolve(state=JobState.QUEUED_HELD))
                elif action == "release":
                    updates.append(job.evolve(state=JobState.QUEUED))
            except InvalidState as e:
                if array is None:
                    errors.append(e)
                else:  # it started or ended since we looked: skipped like the others
                    skipped.setdefault(array, []).append(job)
                continue
            except Drmaa2Error as e:
                errors.append(e)
                continue
            if array is not None:
                reached[array] += 1
        self.persist(updates)
        for array, count in reached.items():
            if count == 0:
                counts: dict[str, int] = {}
                for job in skipped.get(array, []):
                    counts[job.state.value] = counts.get(job.state.value, 0) + 1
                states = ", ".join(f"{n} {state}" for state, n in counts.items())
                errors.append(InvalidState(f"no task of array {array} can be {PAST[action]} ({states})"))
        if errors:
            self.warnings.extend(str(e) for e in errors[:-1])
            raise errors[-1]
        return self.refresh(self.resolve_ids(ids))

    def _mark_terminated(self, jobs: Sequence[JobInfo], signal: object) -> None:
        """Record in each job's backend data that drmaa2 asked to end it (``terminate_requested``: the signal,
        None for the graceful default), before asking: a platform that reports only "cancelled" (Cloud Foundry)
        can then tell our kill, which ends by SIGTERM, from someone else's cancel. Written first so that no
        refresh can record the end before the mark; the store keeps the mark through later writes, and a
        refresh of a copy read before it looks it up when the job ends (``_kill_marks_for_ended``)."""
        if not jobs:
            return
        with self.store.transaction() as txn:
            marked = []
            for job in jobs:
                current = txn.find(job.id)
                if current is not None and not current.state.final:
                    data = {**current.backend_data, "terminate_requested": signal}
                    marked.append(current.evolve(backend_data=data))
            txn.put_many(marked, create=False)

    def _put_deferred(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Write the new records of jobs their runner has not started, in one transaction, except those the
        runner took out of ``deferred`` since they were read (it does that under the store lock before it
        starts a job): their current records are returned instead, and nothing of theirs is written."""
        if not jobs:
            return []
        wanted = {j.id for j in jobs}
        with self.store.transaction() as txn:
            # One pass over the live records (an array may have thousands of tasks); archived ones are final.
            taken = [
                JobInfo.from_record(r) for r in txn.live_records()
                if r["id"] in wanted and r["state"] not in FINAL_STATES
                and "deferred" not in r.get("backend_data", {})
            ]
            gone = {j.id for j in taken}
            txn.put_many([j for j in jobs if j.id not in gone], create=False)
        return taken
    def _control_deferred(self, job: JobInfo, action: str) -> JobInfo:
        """Kill, hold or release a job its runner has not started: only its record changes."""
        if action == "terminate":
            reason = "killed by drmaa2 kill before it started"
            return job.evolve(state=JobState.FAILED, annotation=reason, finish_time=time.time())
        if action == "hold":
            return job.evolve(state=JobState.QUEUED_HELD)
        if action == "release":
            if job.state is not JobState.QUEUED_HELD:
                raise InvalidState(f"job {job.id} is not held")
            return job.evolve(state=JobState.QUEUED)
        raise InvalidState(f"job {job.id} has not started yet")

    def kill(self, ids: Sequence[str], signal: int | None = None) -> list[JobInfo]:
        """Terminate jobs (signal None: SIGTERM, then SIGKILL after a grace period)."""
        return self._control(ids, "terminate", signal)

    def suspend(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control(ids, "suspend")

    def resume(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control(ids, "resume")

    def hold(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control(ids, "hold")

    def release(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control(ids, "release")

    # --- output ---------------------------------------------------------------------------------------
    def follow(
        self, job_id: str, streams: Sequence[str], sink: Callable[[str, bytes], None], poll: float = 0.1
    ) -> JobInfo:
        """Pass the job's output to ``sink`` as it grows until the job has ended; returns its final info."""
        offsets = dict.fromkeys(streams, 0)
        (job,) = self.jobs([job_id])
        while True:
            final = job.state.final
            for stream in streams:
                data = self.output(job, stream, offsets[stream])
                if data:
                    offsets[stream] += len(data)
                    sink(stream, data)
            if final:
                return job
            if "deferred" in job.backend_data:
                time.sleep(poll)
            else:
                self.backend(job.backend).wait_any([job], poll)
            (job,) = self.refresh([job])

    def output(self, job: JobInfo, stream: str, offset: int = 0) -> bytes:
        """The job's output on ``stream`` ("out"/"err") from byte ``offset`` on: from its file, or from the
        platform when the backend holds it."""
        if "deferred" not in job.backend_data:
            held = self.backend(job.backend).output(job, stream)
            if held is not None:
                return held[offset:]
        path = job.output_path if stream == "out" else job.error_path
        if not path:
            return b""
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return b""
        except OSError as e:
            raise InvalidState(f"cannot read {path}: {e.strerror}") from None

    # --- sessions -------------------------------------------------------------------------------------
    def sessions(self) -> list[SessionSummary]:
        """Every job session with its job counts per state."""
        snap = self.store.snapshot()
        summaries = {n: SessionSummary(n) for n in snap.session_names()}
        live = self.refresh([JobInfo.from_record(r) for r in snap.live_records()])
        for job in live:
            s = summaries.setdefault(job.session, SessionSummary(job.session))
            s.counts[job.state.value] = s.counts.get(job.state.value, 0) + 1
        for sess, counts in snap.meta_doc().get("archived", {}).items():
            s = summaries.setdefault(sess, SessionSummary(sess))
            for state, n in counts.items():
                if n:
                    s.counts[state] = s.counts.get(state, 0) + n
        return sorted(summaries.values(), key=lambda s: s.name)

    def create_session(self, name: str) -> None:
        check_session_name(name)
        with self.store.transaction() as txn:
            if not txn.add_session(name):
                raise InvalidState(f"session {name} already exists")

    def destroy_session(self, name: str, force: bool = False) -> int:
        """Remove a session and its job records and output; refuses while jobs are active unless ``force``
        (then they are killed first). Returns how many job records were removed."""
        if name not in {s.name for s in self.sessions()}:
            raise SessionNotFound(f"unknown session {name}")
        jobs, _ = self.list_jobs(session=name, limit=None)
        active = [j for j in jobs if not j.state.final]
        if active and not force:
            raise InvalidState(
                f"session {name} has {len(active)} active job(s); kill them first or use --force"
            )
        self._kill_now(active)
        return self.remove([j.id for j in jobs], session=name)

    def reap(self, ids: Sequence[str] = (), finished: bool = False, older_than: float | None = None,
             force: bool = False) -> int:
        """``drmaa2 rm``: remove the given jobs, or every finished job of the session (``finished``, ended more
        than ``older_than`` seconds ago). Active jobs are refused unless ``force`` (then killed first)."""
        if ids:
            jobs = self.jobs(ids)
        else:
            listed, _ = self.list_jobs(session=self.settings.session, limit=None)
            cutoff = time.time() - (older_than or 0)
            jobs = [j for j in listed if j.state.final and (j.finish_time or 0) <= cutoff]
        active = [j for j in jobs if not j.state.final]
        if active and not force:
            raise InvalidState(
                f"job {active[0].id} is still {active[0].state.value}; kill it first or use --force"
            )
        self._kill_now(active)
        return self.remove([j.id for j in jobs])

    def _kill_now(self, jobs: Iterable[JobInfo]) -> None:
        """SIGKILL active jobs on the way to removing them; failures become warnings."""
        for job in jobs:
            try:
                self.backend(job.backend).terminate(job, 9)
            except Drmaa2Error as e:
                self.warnings.append(str(e))

    def remove(self, ids: Sequence[str], session: str | None = None) -> int:
        """Delete job records, their output files in the drmaa2 home and what their backend keeps."""
        jobs = self.resolve_ids(ids) if ids else []
        for job in jobs:
            try:
                if "deferred" not in job.backend_data:
                    self.backend(job.backend).cleanup(job)
            except Drmaa2Error as e:
                self.warnings.append(f"job {job.id}: {e}")
            for path in {job.output_path, job.error_path}:
                if path and path.startswith(str(self.store.home) + os.sep):
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                    except OSError as e:
                        self.warnings.append(f"cannot remove {path}: {e.strerror}")
        with self.store.transaction() as txn:
            removed = txn.remove(j.id for j in jobs)
            if session is not None and session != "default":
                txn.remove_session(session)
        return removed


PLACEHOLDERS = re.compile(r"%[Aaj%]|\$DRMAA2_(?:INDEX|HOME_DIR|WORKING_DIR)\$")


def with_placeholders(template: JobTemplate, number: int, index: int | None) -> JobTemplate:
    """The template for one job or task, its file paths' placeholders filled in: %A (job number), %a (task
    index), %j (job id: 12 or 12.3), %% and DRMAA2's $DRMAA2_INDEX$, $DRMAA2_HOME_DIR$, $DRMAA2_WORKING_DIR$."""
    values = {
        "%A": str(number),
        "%a": "" if index is None else str(index),
        "%j": str(number) if index is None else f"{number}.{index}",
        "%%": "%",
        "$DRMAA2_INDEX$": "" if index is None else str(index),
        "$DRMAA2_HOME_DIR$": os.path.expanduser("~"),
        "$DRMAA2_WORKING_DIR$": template.working_directory or os.getcwd(),
    }

    def fill(path: str | None) -> str | None:
        return None if path is None else PLACEHOLDERS.sub(lambda m: values[m.group(0)], path)

    return replace(
        template,
        input_path=fill(template.input_path),
        output_path=fill(template.output_path),
        error_path=fill(template.error_path),
    )


def _applies(job: JobInfo, action: str) -> bool:
    """Whether ``action`` would change ``job`` (undetermined: ask the backend, which refuses if not)."""
    return job.state in APPLIES[action]


def _order(job: JobInfo) -> tuple[int, int]:
    number, _, task = job.id.partition(".")
    return int(number), int(task or 0)


__all__ = ["Service", "SessionSummary", "Transaction", "exit_code_of"]

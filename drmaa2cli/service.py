"""The core: job sessions, submission, status, waiting and control, dispatched to backends.

Everything the CLI does goes through ``Service``; it is equally usable from Python (see ``session.py`` for
the DRMAA2-style wrapper). It raises ``Drmaa2Error`` subclasses only; mapping them to exit codes is the
CLI's job.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from . import config
from .backends import Backend, BackendContext, backend_class
from .errors import (
    BackendUnavailable,
    Drmaa2Error,
    ExitStatus,
    InvalidArgument,
    InvalidState,
    JobNotFound,
    SessionNotFound,
    WaitTimeout,
)
from .models import JobInfo, JobState, JobTemplate
from .store import Store, Transaction

SESSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
JOB_ID = re.compile(r"^\d{1,12}(\.\d{1,9})?$")
DEFAULT_LIMIT = 100


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
        """Start one job and return its info. Raises InvalidArgument for a bad template,
        BackendUnavailable/DeniedByDrms when the platform cannot take it (no record is written then),
        StoreError when the store cannot be written."""
        if not template.remote_command:
            raise InvalidArgument("no command given: put the command after `--`")
        session = check_session_name(session or self.settings.session)
        name = backend or self.settings.backend
        be = self.backend(name)
        launch = be.prepare(template)
        try:
            with self.store.transaction() as txn:
                txn.add_session(session)
                job = JobInfo(
                    id=str(txn.allocate()),
                    session=session,
                    backend=name,
                    state=JobState.QUEUED_HELD if template.submit_as_hold else JobState.QUEUED,
                    template=template,
                    submission_time=time.time(),
                    submission_machine=socket.gethostname(),
                    job_owner=pwd.getpwuid(os.getuid()).pw_name,
                )
                launch.bind(job)
                txn.put(job)
        except BaseException:
            launch.abort()
            raise
        try:
            updated = launch.start(job)
        except Drmaa2Error as e:
            reason = f"could not start: {e}"
            self._persist([job.evolve(state=JobState.FAILED, annotation=reason, finish_time=time.time())])
            raise type(e)(f"job {job.id} could not start: {e}") from e
        if updated is not None:
            self._persist([updated])
            return updated
        return job

    # --- reading --------------------------------------------------------------------------------------
    def _persist(self, jobs: Iterable[JobInfo]) -> None:
        jobs = list(jobs)
        if jobs:
            with self.store.transaction() as txn:
                for job in jobs:
                    txn.put(job, create=False)

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Ask each job's backend about the active ones; persist and return the up-to-date list.
        A backend that cannot be asked leaves its jobs as last known, with a warning."""
        by_backend: dict[str, list[JobInfo]] = {}
        for job in jobs:
            if not job.state.final:
                by_backend.setdefault(job.backend, []).append(job)
        changed: dict[str, JobInfo] = {}
        for name, group in by_backend.items():
            try:
                for new in self.backend(name).refresh(group):
                    changed[new.id] = new
            except BackendUnavailable as e:
                self.warnings.append(f"{name}: {e} (showing the last known state)")
        if not changed:
            return list(jobs)
        self._persist(changed.values())
        return [changed.get(j.id, j) for j in jobs]

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
            for job in jobs:
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
    def wait(self, ids: Sequence[str], timeout: float | None = None, any_job: bool = False) -> list[JobInfo]:
        """Block until every job (or, with ``any_job``, one of them) has ended; returns their infos.
        Raises WaitTimeout when ``timeout`` seconds pass first."""
        jobs = self.resolve_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            jobs = self.refresh(jobs)
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
                by_backend.setdefault(job.backend, []).append(job)
            if len(by_backend) == 1:
                (name, group), = by_backend.items()
                self.backend(name).wait_any(group, remaining)
            else:
                # Jobs on several backends: give each a short turn (rare; each turn is still event-driven).
                for name, group in by_backend.items():
                    self.backend(name).wait_any(group, 0.05 if remaining is None else min(0.05, remaining))

    # --- control --------------------------------------------------------------------------------------
    def _control(self, ids: Sequence[str], action: str, *args: object) -> list[JobInfo]:
        jobs = self.jobs(ids)
        errors: list[Drmaa2Error] = []
        for job in jobs:
            if job.state.final:
                errors.append(InvalidState(f"job {job.id} has already ended ({job.state.value})"))
                continue
            try:
                getattr(self.backend(job.backend), action)(job, *args)
            except Drmaa2Error as e:
                errors.append(e)
        if errors:
            self.warnings.extend(str(e) for e in errors[:-1])
            raise errors[-1]
        return self.refresh(jobs)

    def kill(self, ids: Sequence[str], signal: int | None = None) -> list[JobInfo]:
        """Terminate jobs (signal None: SIGTERM, then SIGKILL after a grace period)."""
        return self._control(ids, "terminate", signal)

    def suspend(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control(ids, "suspend")

    def resume(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control(ids, "resume")

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
        for job in active:
            try:
                self.backend(job.backend).terminate(job, 9)
            except Drmaa2Error as e:
                self.warnings.append(str(e))
        return self.remove([j.id for j in jobs], session=name)

    def remove(self, ids: Sequence[str], session: str | None = None) -> int:
        """Delete job records, their output files in the drmaa2 home and what their backend keeps."""
        jobs = self.resolve_ids(ids) if ids else []
        for job in jobs:
            try:
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


def _order(job: JobInfo) -> tuple[int, int]:
    number, _, task = job.id.partition(".")
    return int(number), int(task or 0)


__all__ = ["Service", "SessionSummary", "Transaction", "exit_code_of"]

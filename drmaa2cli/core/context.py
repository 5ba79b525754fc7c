"""What every part of the core shares: the settings, the store, the backends (loaded on first use), the
warning callback, and the reading and writing of job records."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from .. import config
from ..backends import BackendContext, Launch, backend_class
from ..deferred.wrapper import StartLater, wrap
from ..errors import Drmaa2Error, ExitStatus, InvalidArgument, JobNotFound
from ..models import FINAL_STATES, JOB_ID, SESSION_NAME, JobInfo, JobState, order
from ..store import Store

__all__ = ["FINAL_STATES", "SESSION_NAME", "Context", "check_session_name", "exit_code_of", "order"]


class Context:
    """One drmaa2 home and its settings. ``warn`` receives things worth telling the user that did not stop
    the operation; by default they are collected in ``warnings``, each once."""

    def __init__(self, settings: config.Settings | None = None, environ: Mapping[str, str] | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.settings = settings or config.resolve(environ=self.environ)
        self.warnings: list[str] = []
        self.warn = warn or self._collect
        self.store = Store(self.settings.home, warn=self.warn)
        self._backends: dict[str, StartLater] = {}

    def _collect(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def backend(self, name: str) -> StartLater:
        """The backend ``name``, wrapped for the job control its platform lacks (``StartLater``)."""
        if name not in self._backends:
            cls = backend_class(name)
            # The id of the home keeps names apart on a platform other homes share; a backend whose jobs live in
            # this machine's files alone (local_refresh) has none, and reading the id would cost a store read.
            instance = "local" if cls.local_refresh else self.store.instance()
            ctx = BackendContext(
                home=self.settings.home,
                instance=instance,
                settings=self.settings.backend_settings(name),
                environ=self.environ,
            )
            self._backends[name] = wrap(cls(ctx), self.store, self.settings.queues, self.settings.session_slots)
        return self._backends[name]

    def persist(self, jobs: Iterable[JobInfo]) -> None:
        """Write changed infos of existing jobs (a final record is never changed)."""
        jobs = list(jobs)
        if jobs:
            with self.store.transaction() as txn:
                txn.put_many(jobs, create=False)

    def start(self, launch: Launch, job: JobInfo, again: str) -> JobInfo:
        """Start ``job``, whose record is written already, through ``launch``; its record as it now is. A job
        the platform would not start is recorded failed, and the error raised says it ``again`` ("could not
        start again: ...")."""
        try:
            started = launch.start_all([job])
        except Drmaa2Error as e:
            self.fail([job], f"could not start: {e}")
            raise type(e)(f"job {job.id} {again}: {e}") from e
        if started:
            self.persist(started)
            return started[0]
        return job

    def fail(self, jobs: Iterable[JobInfo], reason: str) -> None:
        """Record jobs that will never run as failed with ``reason``."""
        now = time.time()
        self.persist(j.evolve(state=JobState.FAILED, annotation=reason, finish_time=now) for j in jobs)

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
            for job in sorted(jobs, key=order):
                found[job.id] = job
        return list(found.values())


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


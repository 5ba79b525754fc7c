"""The core's one door: ``Service`` submits, looks at, waits for and controls jobs, and keeps sessions.

Everything the CLI does goes through it; it is equally usable from Python (see ``session.py`` for the
DRMAA2-style wrapper). It raises ``Drmaa2Error`` subclasses only; mapping them to exit codes is the CLI's
job. The work is done in ``drmaa2cli.core``, one module per concern; this facade only wires them together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from . import config
from .backends import Backend
from .core.context import SESSION_NAME, Context, check_session_name, exit_code_of
from .core.query import DEFAULT_LIMIT, UNAVAILABLE_PATIENCE, Query, last_lines
from .core.submission import FOLD_ABOVE, FOLD_BATCH, Submission, with_placeholders
from .models import JOB_ID, ArraySpec, JobInfo, JobState, JobTemplate
from .store import Store, Transaction

if TYPE_CHECKING:
    from .core.control import Control
    from .core.monitor import Monitor
    from .core.sessions import Sessions, SessionSummary
    from .monitoring import MachineInfo, PlatformJob, QueueInfo

F = TypeVar("F", bound=Callable[..., Any])


def _doc(source: Callable[..., Any]) -> Callable[[F], F]:
    """The facade's method documented as the core's that does the work (``help(Service.wait)`` says it all)."""
    def copy(method: F) -> F:
        method.__doc__ = source.__doc__
        return method
    return copy


class Service:
    """One drmaa2 home and its settings. Cheap to create; backends are loaded on first use.

    ``warn`` receives each thing worth telling the user that did not stop the operation (the CLI prints
    them on stderr); without it they are collected in ``warnings``."""

    def __init__(self, settings: config.Settings | None = None, environ: Mapping[str, str] | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self._ctx = Context(settings, environ, warn)
        self._query = Query(self._ctx)
        self._submission = Submission(self._ctx, self._query)

    # Control and sessions are loaded when first used: a submit or a status, the commands run most often in
    # scripts, does not pay their import.
    @cached_property
    def _control(self) -> Control:
        from .core.control import Control

        return Control(self._ctx, self._query)

    @cached_property
    def _sessions(self) -> Sessions:
        from .core.sessions import Sessions

        return Sessions(self._ctx, self._query)

    @cached_property
    def _monitor(self) -> Monitor:
        from .core.monitor import Monitor

        return Monitor(self._ctx, self._query)

    @property
    def settings(self) -> config.Settings:
        return self._ctx.settings

    @property
    def environ(self) -> dict[str, str]:
        return self._ctx.environ

    @property
    def store(self) -> Store:
        return self._ctx.store

    @property
    def warnings(self) -> list[str]:
        """The warnings collected when no ``warn`` callback was given."""
        return self._ctx.warnings

    def backend(self, name: str) -> Backend:
        return self._ctx.backend(name)

    # --- submission -------------------------------------------------------------------------------------
    def submit(self, template: JobTemplate, session: str | None = None, backend: str | None = None) -> JobInfo:
        """Start one job and return its info (see ``submit_jobs``)."""
        return self.submit_jobs(template, session, backend)[0]

    @_doc(Submission.submit_jobs)
    def submit_jobs(self, template: JobTemplate, session: str | None = None, backend: str | None = None,
                    array: ArraySpec | None = None, after: Sequence[str] = (),
                    after_mode: str = "ok") -> list[JobInfo]:
        return self._submission.submit_jobs(template, session, backend, array, after, after_mode)

    # --- records and queries ----------------------------------------------------------------------------
    @_doc(Context.persist)
    def persist(self, jobs: Iterable[JobInfo]) -> None:
        self._ctx.persist(jobs)

    @_doc(Context.fail)
    def fail(self, jobs: Iterable[JobInfo], reason: str) -> None:
        self._ctx.fail(jobs, reason)

    @_doc(Context.resolve_ids)
    def resolve_ids(self, ids: Iterable[str]) -> list[JobInfo]:
        return self._ctx.resolve_ids(ids)

    @_doc(Query.refresh)
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        return self._query.refresh(jobs)

    @_doc(Query.jobs)
    def jobs(self, ids: Iterable[str]) -> list[JobInfo]:
        return self._query.jobs(ids)

    @_doc(Query.list_jobs)
    def list_jobs(self, session: str | None = None, states: set[JobState] | None = None, name: str | None = None,
                  limit: int | None = DEFAULT_LIMIT) -> tuple[list[JobInfo], bool]:
        return self._query.list_jobs(session, states, name, limit)

    @_doc(Query.wait)
    def wait(self, ids: Sequence[str], timeout: float | None = None, any_job: bool = False,
             on_progress: Callable[[list[JobInfo]], None] | None = None) -> list[JobInfo]:
        return self._query.wait(ids, timeout, any_job, on_progress)

    @_doc(Query.follow)
    def follow(self, job_id: str, streams: Sequence[str], sink: Callable[[str, bytes], None],
               poll: float = 0.1, offsets: Mapping[str, int] | None = None,
               on_update: Callable[[JobInfo], None] | None = None) -> JobInfo:
        return self._query.follow(job_id, streams, sink, poll, offsets, on_update)

    @_doc(Query.output)
    def output(self, job: JobInfo, stream: str, offset: int = 0) -> bytes:
        return self._query.output(job, stream, offset)

    # --- control ----------------------------------------------------------------------------------------
    def kill(self, ids: Sequence[str], signal: int | None = None) -> list[JobInfo]:
        """Terminate jobs (signal None: SIGTERM, then SIGKILL after a grace period)."""
        return self._control.apply(ids, "terminate", signal)

    def suspend(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control.apply(ids, "suspend")

    def resume(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control.apply(ids, "resume")

    def hold(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control.apply(ids, "hold")

    def release(self, ids: Sequence[str]) -> list[JobInfo]:
        return self._control.apply(ids, "release")

    def alter(self, ids: Sequence[str], name: str | None = None, priority: int | None = None,
              start_time: float | None = None, timeout: float | None = None, after: Sequence[str] | None = None,
              after_mode: str = "ok") -> list[JobInfo]:
        """Change jobs drmaa2 has not started yet (``core/alter.py``); raises InvalidState once one has.
        ``after``: their new dependencies (replacing the old; empty: none)."""
        from .core.alter import Changes, alter

        deps = None if after is None else (list(after), after_mode)
        return alter(self._ctx, ids, Changes(name, priority, start_time, timeout, deps))

    def requeue(self, ids: Sequence[str]) -> list[JobInfo]:
        """Run ended or running jobs again under their ids (``core/requeue.py``); returns the new records."""
        from .core.requeue import requeue

        return requeue(self._ctx, self._query, self._control, ids)

    # --- sessions and removal ---------------------------------------------------------------------------
    def sessions(self) -> list[SessionSummary]:
        """Every job session with its job counts per state."""
        return self._sessions.sessions()

    def create_session(self, name: str, contact: str | None = None, exist_ok: bool = False) -> bool:
        """Create a job session; ``contact`` (the binding's backend choice) is kept with it. Returns whether it
        is new. Raises InvalidState when it exists, unless ``exist_ok``."""
        return self._sessions.create(name, contact, exist_ok)

    def destroy_session(self, name: str, force: bool = False) -> int:
        """Remove a session and its job records and output; refuses while jobs are active unless ``force``
        (then they are killed first). Returns how many job records were removed."""
        return self._sessions.destroy(name, force)

    def reap(self, ids: Sequence[str] = (), finished: bool = False, older_than: float | None = None,
             force: bool = False) -> int:
        """``drmaa2 rm``: remove the given jobs, or every finished job of the session (``finished``, ended more
        than ``older_than`` seconds ago). Active jobs are refused unless ``force`` (then killed first)."""
        return self._sessions.reap(ids, finished, older_than, force)

    def remove(self, ids: Sequence[str], session: str | None = None) -> int:
        """Delete job records, their output files in the drmaa2 home and what their backend keeps."""
        return self._sessions.remove(ids, session)

    def quarantined(self) -> list[dict[str, Any]]:
        """The job records that failed their check when read and were moved out of the store (``drmaa2
        doctor``): each with its ``file``, ``key``, ``problem``, ``record`` and when it was ``quarantined``.
        Reading the store first moves any such record that is still in a store file."""
        import itertools

        from .store import quarantine

        snap = self._ctx.store.snapshot()
        # Every file read (the arrays' files too): what is damaged moves now.
        for _ in itertools.chain(snap.live_records(), snap.archived_records()):
            pass
        return quarantine.entries(self._ctx.store)


    # --- monitoring -------------------------------------------------------------------------------------
    def machines(self, backend: str | None = None, names: Sequence[str] = ()) -> list[MachineInfo]:
        """The execution hosts of ``backend`` (default: the configured one); see ``Backend.machines``."""
        return self._monitor.machines(backend or self.settings.backend, names)

    def queues(self, backend: str | None = None, names: Sequence[str] = ()) -> list[QueueInfo]:
        """Where jobs of ``backend`` can be submitted; see ``Backend.queues``."""
        return self._monitor.queues(backend or self.settings.backend, names)

    def categories(self, backend: str | None = None) -> list[str]:
        """The job categories of ``backend`` (docker images, cf apps); see ``Backend.categories``."""
        return self.backend(backend or self.settings.backend).categories()

    def all_jobs(self, backend: str | None = None) -> list[PlatformJob]:
        """Every job the platform of ``backend`` shows this user, drmaa2's marked (``drmaa2_id``)."""
        return self._monitor.all_jobs(backend or self.settings.backend)


def __getattr__(name: str) -> Any:
    """``SessionSummary`` is importable from here as before, without loading the sessions module up front."""
    if name == "SessionSummary":
        from .core.sessions import SessionSummary

        return SessionSummary
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_LIMIT", "FOLD_ABOVE", "FOLD_BATCH", "JOB_ID", "SESSION_NAME", "UNAVAILABLE_PATIENCE", "Service",
    "SessionSummary", "Transaction", "check_session_name", "exit_code_of", "last_lines", "with_placeholders",
]

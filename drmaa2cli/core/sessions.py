"""Job sessions, and removing jobs: `drmaa2 sessions`, `sessions destroy` and `rm`."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import Drmaa2Error, InvalidState, SessionNotFound
from ..models import JobInfo, JobState
from ..store import Snapshot
from .context import Context, check_session_name
from .query import Query


@dataclass
class SessionSummary:
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return sum(n for state, n in self.counts.items() if not JobState(state).final)


class Sessions:
    def __init__(self, ctx: Context, query: Query) -> None:
        self.ctx, self.query = ctx, query

    def sessions(self) -> list[SessionSummary]:
        """Every job session with its job counts per state."""
        snap = self.ctx.store.snapshot()
        summaries = {n: SessionSummary(n) for n in snap.session_names()}
        live = self.query.refresh([JobInfo.from_record(r) for r in snap.live_records()])
        for job in live:
            s = summaries.setdefault(job.session, SessionSummary(job.session))
            s.counts[job.state.value] = s.counts.get(job.state.value, 0) + 1
        for sess, counts in snap.meta_doc().get("archived", {}).items():
            s = summaries.setdefault(sess, SessionSummary(sess))
            for state, n in counts.items():
                if n:
                    s.counts[state] = s.counts.get(state, 0) + n
        return sorted(summaries.values(), key=lambda s: s.name)

    def create(self, name: str, contact: str | None = None, exist_ok: bool = False) -> bool:
        """Create session ``name``, remembering ``contact`` (the binding's backend choice); returns whether it is
        new. Raises InvalidState when it exists, unless ``exist_ok`` (as `mkdir -p`, for scripts that create their
        session every time they run)."""
        check_session_name(name)
        with self.ctx.store.transaction() as txn:
            if txn.add_session(name, contact):
                return True
        if exist_ok:
            return False
        raise InvalidState(f"session {name} already exists (--exist-ok accepts that)")

    def destroy(self, name: str, force: bool = False) -> int:
        """Remove a session and its job records and output; refuses while jobs are active unless ``force``
        (then they are killed first). Returns how many job records were removed."""
        if name not in _known(self.ctx.store.snapshot()):
            raise SessionNotFound(f"unknown session {name}")
        jobs, _ = self.query.list_jobs(session=name, limit=None)
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
            jobs = self.query.jobs(ids)
        else:
            listed, _ = self.query.list_jobs(session=self.ctx.settings.session, limit=None)
            cutoff = time.time() - (older_than or 0)
            jobs = [j for j in listed if j.state.final and (j.finish_time or 0) <= cutoff]
        active = [j for j in jobs if not j.state.final]
        if active and not force:
            raise InvalidState(
                f"job {active[0].id} is still {active[0].state.value}; kill it first or use --force"
            )
        self._kill_now(active)
        return self._remove_jobs(jobs)

    def _kill_now(self, jobs: Iterable[JobInfo]) -> None:
        """SIGKILL active jobs on the way to removing them; failures become warnings."""
        for job in jobs:
            try:
                self.ctx.backend(job.backend).terminate(job, 9)
            except Drmaa2Error as e:
                self.ctx.warn(str(e))

    def remove(self, ids: Sequence[str], session: str | None = None) -> int:
        """Delete job records, their output files in the drmaa2 home and what their backend keeps."""
        return self._remove_jobs(self.ctx.resolve_ids(ids) if ids else [], session)

    def _remove_jobs(self, jobs: Sequence[JobInfo], session: str | None = None) -> int:
        """``remove`` for records already read (``rm --finished`` of 100,000 jobs: looking each id up again
        cost a scan of its archive shard per id)."""
        by_backend: dict[str, list[JobInfo]] = {}
        for job in jobs:
            by_backend.setdefault(job.backend, []).append(job)
        for name, group in by_backend.items():
            try:
                errors = self.ctx.backend(name).cleanup_many(group)
            except Drmaa2Error as e:
                errors = [(group[0].id, e)]
            for job_id, error in errors:
                self.ctx.warn(f"job {job_id}: {error}")
        home = str(self.ctx.store.home) + os.sep
        listings: dict[str, frozenset[str]] = {}
        for job in jobs:
            for path in {job.output_path, job.error_path}:
                if not path or not path.startswith(home):
                    continue
                folder, name = os.path.split(path)
                if folder not in listings:  # one listing per folder, not a failed unlink per missing file
                    try:
                        listings[folder] = frozenset(os.listdir(folder))
                    except OSError:
                        listings[folder] = frozenset()
                if name not in listings[folder]:
                    continue
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    self.ctx.warn(f"cannot remove {path}: {e.strerror}")
        with self.ctx.store.transaction() as txn:
            removed = txn.remove(j.id for j in jobs)
            if session is not None and session != "default":
                txn.remove_session(session)
        return removed


def _known(snap: Snapshot) -> set[str]:
    """The names `drmaa2 sessions` lists, read from the store alone (no backend is asked anything)."""
    names = set(snap.session_names())
    names.update(r["session"] for r in snap.live_records())
    names.update(snap.meta_doc().get("archived", {}))
    return names

"""Looking at jobs: refreshing them from their backends, listing, waiting (riding out short outages),
and their output."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from .. import mark
from ..backends import Backend
from ..errors import BackendUnavailable, Drmaa2Error, InvalidState, StoreError, WaitTimeout
from ..models import JobInfo, JobState
from .context import Context, order

DEFAULT_LIMIT = 100
#: How long `wait` rides out a backend that cannot be reached before it gives up (exit 203).
UNAVAILABLE_PATIENCE = 60.0
#: How often `wait` also reads the store for ends another drmaa2 process recorded (a runner deciding a
#: dependency, a `status` in another shell) that its own look at the platform missed: a scheduler that has
#: forgotten a job and has not yet written its accounting keeps the last known state, for this process only.
STORE_LOOK_SECONDS = 2.0


class Query:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Ask each job's backend about the active ones; persist and return the up-to-date list.
        A backend that cannot be asked leaves its jobs as last known, with a warning."""
        by_backend: dict[str, list[JobInfo]] = {}
        changed: dict[str, JobInfo] = {}
        for job in jobs:
            if not job.state.final:
                by_backend.setdefault(job.backend, []).append(job)
        for name, group in by_backend.items():
            try:
                be = self.ctx.backend(name)
                found = be.refresh(group)
                if not be.local_refresh:
                    found = self._kill_marks_for_ended(be, group, found)
                for new in found:
                    changed[new.id] = new
            except BackendUnavailable as e:
                self.ctx.warn(f"{name}: {e} (showing the last known state)")
        if not changed:
            return list(jobs)
        try:
            self.ctx.persist(changed.values())
            self._clear_slot_notes(jobs, changed)
        except StoreError as e:
            # Reading must not depend on writing (a full disk, a home made read-only): the new states are
            # shown as found, and a later command records them (their source -- exit files, the engine, the
            # API -- still has them).
            self.ctx.warn(f"cannot record the jobs' new states: {e}")
        return [changed.get(j.id, j) for j in jobs]

    def _clear_slot_notes(self, jobs: Sequence[JobInfo], changed: Mapping[str, JobInfo]) -> None:
        """Remove "waiting for a slot" from the records of jobs that got their slot (the platform's own
        throttle, a process array's): a record merges a new annotation of None as "unchanged"."""
        started = [j.id for j in jobs if j.annotation == mark.WAITING_FOR_SLOT and j.id in changed
                   and changed[j.id].annotation is None]
        if started:
            with self.ctx.store.transaction() as txn:
                for job_id in started:
                    txn.clear(job_id, "annotation")

    def _kill_marks_for_ended(self, be: Backend, group: list[JobInfo], found: list[JobInfo]) -> list[JobInfo]:
        """``found`` (what ``be.refresh(group)`` returned), with the jobs it saw end looked at again with the kill
        mark (see ``Control.mark_terminated``) that another command stored since ``group`` was read: a `wait`
        started before a `kill` must see it when the platform reports only "cancelled". Read after the refresh:
        the mark is stored before the kill is sent, so an end caused by our kill finds it. Only for backends
        whose refresh asks a platform anyway, and only when a job ended."""
        ended = {j.id for j in found if j.state.final and "terminate_requested" not in j.backend_data}
        if not ended:
            return found
        snap = self.ctx.store.snapshot()
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

    def jobs(self, ids: Iterable[str]) -> list[JobInfo]:
        """Up-to-date info of the given jobs."""
        return self.refresh(self.ctx.resolve_ids(ids))

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
        snap = self.ctx.store.snapshot()

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
        finished.sort(key=order, reverse=True)
        if limit is not None and len(finished) > limit:
            finished, truncated = finished[:limit], True
        return sorted(active + finished, key=order), truncated

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
        jobs = self.ctx.resolve_ids(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        outage_since: float | None = None
        warned = False
        store_look = time.monotonic() + STORE_LOOK_SECONDS
        while True:
            jobs = self.refresh(jobs)
            # A job that may run again is recorded by its runner: its next attempt is read from the store.
            if time.monotonic() >= store_look or any(j.template.retries for j in jobs if not j.state.final):
                jobs = self._recorded_ends(jobs)
                store_look = time.monotonic() + STORE_LOOK_SECONDS
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
                by_backend.setdefault(job.backend, []).append(job)
            try:
                # Bounded, so that the store is looked at again in time.
                turn = STORE_LOOK_SECONDS if remaining is None else min(remaining, STORE_LOOK_SECONDS)
                self._wait_turn(by_backend, turn)
                outage_since = None
            except BackendUnavailable as e:
                # An engine restarting or an API hiccup: ride it out, but not forever.
                now = time.monotonic()
                outage_since = outage_since or now
                if now - outage_since > UNAVAILABLE_PATIENCE:
                    raise
                if not warned:
                    self.ctx.warn(f"{e}; still waiting")
                    warned = True
                time.sleep(min(1.0, 0.1 + (now - outage_since) / 10))

    def _recorded_ends(self, jobs: list[JobInfo]) -> list[JobInfo]:
        """``jobs``, with those still active here replaced by their record when another process recorded
        their end, their next attempt (``retries.py``) or their start (the runner of a job that waited for a
        dependency or a begin time gives it its native id: a backend that finds a job by that id, as the
        remote one does, sees it only then)."""
        if all(j.state.final for j in jobs):
            return jobs
        snap = self.ctx.store.snapshot()
        out = []
        for job in jobs:
            stored = None if job.state.final else snap.find(job.id)
            started = stored is not None and stored.native_id is not None and stored.native_id != job.native_id
            newer = stored is not None and (stored.state.final or stored.attempt > job.attempt or started)
            out.append(stored if newer and stored is not None else job)
        return out

    def _wait_turn(self, by_backend: dict[str, list[JobInfo]], remaining: float | None) -> None:
        """One event-driven wait on the pending jobs, grouped by backend."""
        if len(by_backend) == 1:
            (name, group), = by_backend.items()
            self.ctx.backend(name).wait_any(group, remaining)
        else:
            # Jobs on several backends: give each a short turn (rare; each turn is still event-driven).
            for name, group in by_backend.items():
                self.ctx.backend(name).wait_any(group, 0.05 if remaining is None else min(0.05, remaining))

    def follow(
        self, job_id: str, streams: Sequence[str], sink: Callable[[str, bytes], None], poll: float = 0.1,
        offsets: Mapping[str, int] | None = None, on_update: Callable[[JobInfo], None] | None = None,
    ) -> JobInfo:
        """Pass the job's output to ``sink`` as it grows until the job has ended (from byte ``offsets[stream]``
        on, else from the start); returns its final info. ``on_update`` sees the job each time it was looked
        at."""
        offsets = {s: (offsets or {}).get(s, 0) for s in streams}
        (job,) = self.jobs([job_id])
        live = True  # the backend's live stream is followed once
        streamed = False  # it ended: the job writes no more, what is left comes from its files at its end
        while True:
            if on_update is not None:
                on_update(job)
            final = job.state.final
            backend = self.ctx.backend(job.backend)
            grown = None if final or not live else backend.follow_output(job, streams, offsets)
            if grown is not None:
                live = False
                try:
                    for stream, data in grown:
                        offsets[stream] += len(data)
                        sink(stream, data)
                    streamed = True
                except Drmaa2Error:
                    pass  # the stream broke off (an engine restarting): polling goes on from the offsets
            elif final or not streamed:
                # Not while the job, whose stream has ended, is still ending: a platform's whole log read again.
                for stream in streams:
                    data = self.output(job, stream, offsets[stream])
                    if data:
                        offsets[stream] += len(data)
                        sink(stream, data)
                if final:
                    return job
            backend.wait_any([job], poll)
            (job,) = self.refresh([job])

    def output(self, job: JobInfo, stream: str, offset: int = 0) -> bytes:
        """The job's output on ``stream`` ("out"/"err") from byte ``offset`` on: from its file, or from the
        platform when the backend holds it."""
        held = self.ctx.backend(job.backend).output(job, stream)
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


def last_lines(data: bytes, n: int) -> bytes:
    """The last ``n`` lines of ``data`` (a last line without its newline counts as one), as `tail -n` gives."""
    if n <= 0:
        return b""
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    cut = end
    for _ in range(n):
        cut = data.rfind(b"\n", 0, cut)
        if cut < 0:
            return data
    return data[cut + 1:]

"""Altering a job its platform holds or keeps waiting (``drmaa2 alter`` of a job held by the process shepherd or
a scheduler, or waiting there for ``--after``): the job is submitted again under the same id with the changes,
as qalter does where the platform cannot modify a job (DRMAA v1 has no call for it).

In this order, so that the job never runs twice nor with its old settings: held on its platform if it is not
already (its platform decides whether it has started meanwhile: then the alter is refused, 205); a new launch
prepared (the process backend's shepherd boots meanwhile); the held job taken off its platform (it never
started, so nothing of it ran) and what it left removed; the new launch bound to the record, which is replaced; it
started -- held again if it was held, through drmaa2's runner when it must now wait for a start time, natively
when the platform does what is asked. A command that looks at the job between its removal and the new record
may see it end ("killed before it started"); the new record replaces that.
"""

from __future__ import annotations

import contextlib
import signal as signals
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..deferred.wrapper import StartLater
from ..errors import Drmaa2Error, InvalidState
from ..models import Dependencies, JobInfo, JobState
from .context import Context

#: How long a re-submission waits for its platform to report the old job's end (it never ran: it was held).
GONE_SECONDS = 30.0


def resubmit(ctx: Context, jobs: Sequence[JobInfo], fields: Mapping[str, Any], deps: list[str],
             after: tuple[list[str], str] | None) -> list[JobInfo]:
    """Submit each of ``jobs`` again under its id with its template's ``fields`` changed and, when ``after`` is
    given, the dependencies ``deps`` (ids, resolved) in mode ``after[1]``. Returns the new records. Raises
    InvalidState for a job its platform started meanwhile, and what a submission raises."""
    return [_again(ctx, job, fields, deps if after is not None else list(job.after or []),
                   after[1] if after is not None else job.after_mode or "ok") for job in jobs]


def _again(ctx: Context, job: JobInfo, fields: Mapping[str, Any], deps: list[str], mode: str) -> JobInfo:
    be = ctx.backend(job.backend)
    held = job.state.held
    if not held:  # first, so that it cannot start while it is re-submitted
        outcome = be.control("hold", [job])[0]
        if isinstance(outcome, Drmaa2Error):
            raise InvalidState(f"job {job.id} has started: only a job not started yet can be altered") from None
    template = replace(job.template, **fields, submit_as_hold=held)
    pending = [d for d in ctx.resolve_ids(deps) if not d.state.final] if deps else []
    failed = next((d for d in ctx.resolve_ids(deps) if d.state is JobState.FAILED), None) if deps else None
    if failed is not None and mode == "ok":
        _release(be, job, held)
        raise InvalidState(f"--after {failed.id}: it has failed, so job {job.id} could never start")
    try:
        launch = be.prepare(template, after=Dependencies(pending, mode) if deps else None, session=job.session)
    except BaseException:
        _release(be, job, held)
        raise
    # Only what tells its old platform job apart from the new one (the process shepherd's group) is kept.
    data = {k: v for k, v in job.backend_data.items() if k == "group"}
    fresh = job.evolve(template=template, backend_data=data, native_id=None, annotation=None,
                       state=JobState.QUEUED_HELD if held else JobState.QUEUED, dispatch_time=None,
                       after=deps or None, after_mode=mode if deps else None)
    try:
        # Before the new launch is bound: a backend may find a job's platform id by its drmaa2 id (libdrmaa's
        # agent), and the bind names the new one.
        with contextlib.suppress(InvalidState):  # ended meanwhile: it never started, it was held
            be.inner.terminate(job, None)
        _until_gone(be, job)
        with contextlib.suppress(Drmaa2Error):
            be.inner.cleanup(job)
        launch.bind(fresh)
        with ctx.store.transaction() as txn:
            txn.revive(fresh)
    except BaseException:
        launch.abort()
        raise
    return ctx.start(launch, fresh, "could not be submitted again")


def _until_gone(be: StartLater, job: JobInfo) -> None:
    """Wait (at most GONE_SECONDS) until the platform reports the old job ended: what it writes of that end is
    keyed by the drmaa2 id (libdrmaa's keeper writes it when the deletion reaches it), and must be there to be
    removed before the new job's record can be read, or the new job would take the old one's end for its own."""
    deadline = time.monotonic() + GONE_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(Drmaa2Error):  # a platform slow to answer: ask again
            if any(seen.state.final for seen in be.inner.refresh([job])):
                return
        time.sleep(0.1)
    with contextlib.suppress(Drmaa2Error):  # the delete did not reach it: once more, at once
        be.inner.terminate(job, signals.SIGKILL)


def _release(be: StartLater, job: JobInfo, held: bool) -> None:
    """Undo the hold put on ``job`` for an alter that is refused after all."""
    if not held:
        with contextlib.suppress(Drmaa2Error):
            be.control("release", [job])

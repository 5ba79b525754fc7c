"""``drmaa2 requeue``: a job that ended, or is running, runs again under the same id (``scontrol requeue``,
pueue's ``restart``), on every backend. A running job is killed first. The attempt that ended is kept in the
record (``deferred.retries``); the new attempt is started as a submission would start it -- through drmaa2's runner
when it must wait for a slot or a start time -- and named on its platform by ``JobInfo.run_id``."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace

from .. import mark
from ..deferred import retries
from ..errors import Drmaa2Error, InvalidState
from ..models import JobInfo, JobState
from .context import Context
from .control import Control
from .query import Query

#: How long requeue waits for a running job to end after its kill (the kill's grace period is within it).
KILL_PATIENCE = 60.0


def requeue(ctx: Context, query: Query, control: Control, ids: Sequence[str]) -> list[JobInfo]:
    """Run the jobs named again; returns their new records. Raises InvalidState (exit 205) naming the first
    job that has not run yet or that someone else requeued meanwhile, JobNotFound for an unknown id, and
    whatever the platform's submission raises."""
    jobs = query.refresh(ctx.resolve_ids(ids))
    idle = next((j for j in jobs if not j.state.final and j.state not in KILLABLE), None)
    if idle is not None:
        raise InvalidState(f"job {idle.id} has not started ({idle.state.value}): only a job that ran or runs "
                           "can be requeued")
    running = [j.id for j in jobs if not j.state.final]
    if running:
        control.apply(running, "terminate", None)
        ended = {j.id: j for j in query.wait(running, KILL_PATIENCE)}
        jobs = [ended.get(j.id, j) for j in jobs]
    return [_again(ctx, job) for job in jobs]


#: The states of a job that has started: requeue kills it first.
KILLABLE = frozenset({JobState.RUNNING, JobState.SUSPENDED})


def _again(ctx: Context, job: JobInfo) -> JobInfo:
    be = ctx.backend(job.backend)
    launch = be.prepare(replace(job.template, submit_as_hold=False), session=job.session)
    fresh = retries.next_attempt(job, {}, f"requeued by drmaa2 requeue (attempt {job.attempt + 1})")
    try:
        launch.bind(fresh)
        if not mark.waiting(fresh):  # started at once: queued on its platform, not held back by drmaa2
            fresh.state, fresh.annotation = JobState.QUEUED, f"attempt {fresh.attempt}"
        with contextlib.suppress(Drmaa2Error):  # what the ended attempt left: its exit file, its container
            be.inner.cleanup(job)
        with ctx.store.transaction() as txn:
            current = txn.get(job.id)
            if not current.state.final or current.attempt != job.attempt:
                raise InvalidState(f"job {job.id} was requeued meanwhile (attempt {current.attempt}, "
                                   f"{current.state.value})")
            txn.revive(fresh)
    except BaseException:
        launch.abort()
        raise
    if not mark.waiting(fresh):
        retries.truncate_outputs(fresh)
    return ctx.start(launch, fresh, "could not start again")

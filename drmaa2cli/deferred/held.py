"""Control of jobs a runner holds back: they live in their records only, so kill, hold and release change the
record, under the store lock, unless the runner started the job meanwhile."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .. import mark
from ..backends import ending
from ..errors import InvalidState
from ..models import JobInfo, JobState
from ..store import Store


def controlled(job: JobInfo, action: str) -> JobInfo:
    """Kill, hold or release a job its runner has not started: its new record."""
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


def put(store: Store, jobs: Sequence[JobInfo]) -> list[JobInfo]:
    """Write the new records of jobs their runner has not started, in one transaction, except those the
    runner took out of its queue since they were read (it does that under the store lock before it
    starts a job): their current records are returned instead, and nothing of theirs is written."""
    if not jobs:
        return []
    wanted = {j.id for j in jobs}
    with store.transaction() as txn:
        # Only the records of these jobs (an array's in its own file); archived ones are final.
        taken = [JobInfo.from_record(r) for r in txn.records(wanted, archived=False).values()
                 if mark.pending_record(r)]
        gone = {j.id for j in taken}
        txn.put_many([j for j in jobs if j.id not in gone], create=False)
    return taken

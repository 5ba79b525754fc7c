"""The home's retry watcher: one runner process watches every job of the home that may be retried, so a job
with ``--retries`` costs one Python process per home, not one each."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .. import mark
from ..models import FINAL_STATES, JobInfo
from ..procfs import alive, process_of
from .starting import Core
from .wrapper import POLL_SECONDS

#: The live file's meta entry: [pid, start ticks] of the runner watching the home's jobs that may be retried.
RETRY_META = "retry_runner"


def keep_retries(svc: Core, runner: tuple[int, int]) -> list[JobInfo]:
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
            txn.put_many([j.evolve(backend_data={**j.backend_data, mark.RETRIER: list(holder)}) for j in mine],
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
    return (rec["state"] not in FINAL_STATES and isinstance(data, dict)
            and process_of(data.get(mark.RETRIER)) == runner)


def _watch(svc: Core, runner: tuple[int, int]) -> list[JobInfo]:
    """Watch the jobs ``runner`` retries until one of them is to run again (they are returned, held by this
    runner again) or all have ended for good ([]; decided under the store lock, so that a runner handing jobs
    over meanwhile finds this one gone or sees them watched)."""
    while True:
        jobs = [JobInfo.from_record(r) for r in svc.store.snapshot().live_records() if _retried_by(r, runner)]
        again = [j for j in jobs if mark.held_by(j, runner)]
        if again:
            return again
        watched = [j for j in jobs if not mark.waiting(j)]
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

"""Attempts: a job that runs again under the same id (``drmaa2 requeue``, ``submit --retries N``).

A record describes the job's current attempt; the attempts that ended before it are kept in its ``attempts``
list (``models.ATTEMPT_FIELDS`` of each), oldest first. A new attempt starts as a new record -- state
``requeued``, no times or exit status of the old one -- written over the old record whole (``Transaction.put_many``
and ``Transaction.revive``), and it is named on its platform by ``JobInfo.run_id`` (12r2), so that it never meets
the container, Kubernetes Job or task label of the attempt before.

Retries are the runner's (``runner.py``): a job submitted with ``--retries`` is started by a runner that stays
to watch it (its pid in the mark's ``retrier``). Whichever drmaa2 process first sees the job fail with
retries left -- a ``wait``, a ``status``, the runner itself -- records the next attempt instead of the end, held
back until its delay has passed; so ``wait`` never returns between two attempts, and the runner starts it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .. import mark
from ..models import ATTEMPT_FIELDS, JobInfo, JobState
from ..store import Store


def ended_attempt(job: JobInfo) -> dict[str, Any]:
    """What the record keeps of ``job``'s attempt, which ended."""
    attempt = {k: getattr(job, k) for k in ATTEMPT_FIELDS}
    attempt["state"] = job.state.value
    return {k: v for k, v in attempt.items() if v is not None}


def next_attempt(job: JobInfo, backend_data: dict[str, Any], annotation: str | None) -> JobInfo:
    """The record of ``job``'s next attempt, held back by drmaa2 (state requeued) until its runner starts it;
    the attempt that ended goes into ``attempts``."""
    return JobInfo(
        id=job.id, session=job.session, backend=job.backend, state=JobState.REQUEUED, template=job.template,
        annotation=annotation, submission_time=job.submission_time, submission_machine=job.submission_machine,
        job_owner=job.job_owner, after=job.after, after_mode=job.after_mode,
        output_path=job.output_path, error_path=job.error_path,
        backend_data=backend_data, attempts=[*(job.attempts or ()), ended_attempt(job)],
    )


def retry_due(job: JobInfo) -> bool:
    """``job`` failed after it ran, has retries left and was not ended by drmaa2 kill."""
    return (job.state is JobState.FAILED and job.attempt <= job.template.retries
            and (job.exit_status is not None or job.signal is not None)
            and "terminate_requested" not in job.backend_data)


def describe(job: JobInfo) -> str:
    """How an ended attempt ended, in a few words."""
    if job.signal is not None:
        return f"killed by signal {job.signal}"
    return f"exit status {job.exit_status}"


def retried(job: JobInfo, held: dict[str, Any], now: float | None = None) -> JobInfo:
    """The next attempt of ``job``, which failed with retries left: held back (``held``, the runner's mark, to
    which this adds the start time) until ``--retry-delay`` after the end."""
    from ..when import local_text  # datetime and the parsers: only for a retry

    end = job.finish_time if job.finish_time is not None else (time.time() if now is None else now)
    begin = end + (job.template.retry_delay or 0.0)
    retrier = mark.retrier_of(job)
    note = (f"attempt {job.attempt} failed ({describe(job)}); retry {job.attempt} of {job.template.retries} "
            f"at {local_text(begin)}")
    data: dict[str, Any] = {mark.KEY: {**held, "begin": begin}}
    if retrier is not None:
        data[mark.RETRIER] = list(retrier)
    return next_attempt(job, data, note)


def record_retry(store: Store, job: JobInfo, retrier: tuple[int, int], pool: str | None) -> bool:
    """Record ``job``'s next attempt, held for ``retrier`` (or its slot's runner, ``pool``); False when the job
    ended otherwise meanwhile (drmaa2 kill asked for it: the next look records that)."""
    held = mark.new(retrier, slots=pool)
    with store.transaction() as txn:
        current = txn.find(job.id)
        if (current is None or current.attempt != job.attempt or current.state.final
                or "terminate_requested" in current.backend_data):
            return False
        txn.put(retried(job, held))
    return True


def with_count(job: JobInfo) -> JobInfo:
    """A final ``job`` that ran more than once, its annotation saying how many attempts ran."""
    if not job.attempts or not job.state.final:
        return job
    note = f"{job.attempt} attempts ran"
    if job.annotation and note in job.annotation:
        return job
    return job.evolve(annotation=f"{job.annotation} ({note})" if job.annotation else note)


def truncate_outputs(job: JobInfo) -> None:
    """Empty the output files of ``job``'s attempt before it starts: they hold the last attempt's output, as a
    fresh run writes them, on every backend (some open their files for appending)."""
    for path in {job.output_path, job.error_path} - {None}:
        assert path is not None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        except OSError:
            continue  # not there (yet), or not ours to empty: the platform writes it afresh
        os.close(fd)

"""Submitting jobs and arrays: the template checked, the records written under the store lock, the jobs
started after the commit (the two-phase protocol of ``backends/base.py``)."""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Sequence
from dataclasses import replace

from ..backends import Backend, ending
from ..errors import Drmaa2Error, InvalidArgument
from ..files import fill_placeholders
from ..models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ..store import Transaction
from . import validate
from .context import FINAL_STATES, Context, check_session_name
from .query import Query

# A submit folds ended jobs into its own write once more than FOLD_ABOVE jobs of its backend look active in the
# live file, FOLD_BATCH of the oldest at a time: with nothing but submits running (a CI loop, 64 concurrent
# submitters) the live file would otherwise grow without end, and with it every write under the lock.
FOLD_ABOVE = 64
FOLD_BATCH = 32


class Submission:
    def __init__(self, ctx: Context, query: Query) -> None:
        self.ctx, self.query = ctx, query

    def submit_jobs(
        self,
        template: JobTemplate,
        session: str | None = None,
        backend: str | None = None,
        array: ArraySpec | None = None,
        after: Sequence[str] = (),
        after_mode: str = "ok",
    ) -> list[JobInfo]:
        """Submit a job, or an array of tasks ``N.i``; returns their records.

        ``after`` names jobs that must end first: all done (``after_mode`` "ok") or whatever their result
        ("any"). A job whose dependency already failed is recorded failed at once, never left pending.
        Raises InvalidArgument for a bad template (``validate.check_template``), JobNotFound for an unknown
        dependency, BackendUnavailable/DeniedByDrms when the platform cannot take it (no record is written then),
        StoreError when the store cannot be written."""
        if isinstance(template, JobTemplate) and not template.remote_command:
            raise InvalidArgument("no command given: put the command after `--`")
        if after_mode not in ("ok", "any"):
            raise InvalidArgument(f"unknown dependency mode {after_mode!r}")
        if array is not None:
            validate.check_array(array)
        if not isinstance(session, str | None) or not isinstance(backend, str | None):
            raise InvalidArgument(f"a session and a backend are named by strings, not {session!r}, {backend!r}")
        session = check_session_name(session or self.ctx.settings.session)
        name = backend or self.ctx.settings.backend
        be = self.ctx.backend(name)
        # Every entry's one check, before the dependencies are looked up and the platform is asked.
        validate.check_template(template, type(be.inner))
        deps = self.query.refresh(self.ctx.resolve_ids(after)) if after else []
        blocking = next((d for d in deps if d.state.final and d.state is not JobState.DONE), None)
        if after_mode == "any":
            blocking = None
        if blocking is None:
            pending = [d for d in deps if not d.state.final]
            launch = be.prepare(template, array=array,
                                after=Dependencies(pending, after_mode) if deps else None, session=session)
        else:
            # It never starts: nothing to hold back or start later, only the records to fill in.
            launch = be.prepare(replace(template, submit_as_hold=False))
        now = time.time()
        try:
            with self.ctx.store.transaction() as txn:
                txn.add_session(session)
                number = txn.allocate()
                jobs = []
                for index in array.indices if array is not None else [None]:
                    job_id = str(number) if index is None else f"{number}.{index}"
                    job = JobInfo(
                        id=job_id,
                        session=session,
                        backend=name,
                        state=JobState.QUEUED_HELD if template.submit_as_hold else JobState.QUEUED,
                        template=with_placeholders(template, number, index),
                        submission_time=now,
                        submission_machine=os.uname().nodename,  # gethostname(2) without importing socket
                        job_owner=pwd.getpwuid(os.getuid()).pw_name,
                        after=[d.id for d in deps] or None,
                        after_mode=after_mode if deps else None,
                    )
                    launch.bind(job)
                    if blocking is not None:
                        job.state, job.finish_time = JobState.FAILED, now
                        job.annotation = ending.dependency_failed([blocking.id], blocking.annotation or "failed")
                    jobs.append(job)
                txn.put_many(jobs)
                self._fold_ended(txn, be, name)
        except BaseException:
            launch.abort()
            raise
        if blocking is not None:
            launch.abort()  # failed at once: nothing starts
            return jobs
        try:
            updated = {j.id: j for j in launch.start_all(jobs)}
        except Drmaa2Error as e:
            self.ctx.fail(jobs, f"could not start: {e}")
            raise type(e)(f"job {number} could not start: {e}") from e
        if updated:
            self.ctx.persist(updated.values())
        return [updated.get(j.id, j) for j in jobs]

    def _fold_ended(self, txn: Transaction, be: Backend, name: str) -> None:
        """Record the end of the oldest jobs of backend ``name`` that ended since anyone looked (see FOLD_ABOVE).
        Only for a backend whose refresh reads local files, so that a submit never waits on a network."""
        if not be.local_refresh:
            return
        # The live file's own records: an array's tasks are in its own file, which a submit does not read.
        active = [r for r in txn.single_records() if r["backend"] == name and r["state"] not in FINAL_STATES]
        if len(active) <= FOLD_ABOVE:
            return
        oldest = [JobInfo.from_record(r) for r in active[:FOLD_BATCH]]
        txn.put_many([j for j in be.refresh(oldest) if j.state.final], create=False)


def with_placeholders(template: JobTemplate, number: int, index: int | None) -> JobTemplate:
    """The template for one job or task, its file paths' placeholders filled in (``files.fill_placeholders``):
    %A (job number), %a (task index), %j (job id: 12 or 12.3), %% and DRMAA2's $DRMAA2_INDEX$,
    $DRMAA2_HOME_DIR$, $DRMAA2_WORKING_DIR$."""
    task = "" if index is None else str(index)
    cwd = template.working_directory or os.getcwd()

    def fill(path: str | None) -> str | None:
        return None if path is None else fill_placeholders(path, str(number), task, cwd)

    return replace(
        template,
        input_path=fill(template.input_path),
        output_path=fill(template.output_path),
        error_path=fill(template.error_path),
    )

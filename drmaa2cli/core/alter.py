"""Changing a job that has not started yet (``drmaa2 alter``, like ``qalter``, ``scontrol update``, ``pueue
edit``): its record changes under the store lock while drmaa2's runner still holds it back (for its start time,
a slot of a local queue, its dependencies or a hold the platform does not do itself). The runner reads the record
again before it starts a job, and a job started meanwhile is refused, never half changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import runner
from ..backends import backend_class
from ..errors import InvalidState, UnsupportedAttribute
from ..models import JobInfo
from .context import Context


@dataclass(frozen=True)
class Changes:
    """What to change; None leaves a field as it is."""

    name: str | None = None
    priority: int | None = None
    start_time: float | None = None
    timeout: float | None = None


def alter(ctx: Context, ids: Sequence[str], changes: Changes) -> list[JobInfo]:
    """Apply ``changes`` to the jobs named (an array id: each of its tasks), all or none, in one transaction.
    Raises InvalidState (exit 205) naming the first job that has ended or started, UnsupportedAttribute for a
    priority on a backend that refuses it, JobNotFound for an unknown id."""
    wanted = [j.id for j in ctx.resolve_ids(ids)]
    with ctx.store.transaction() as txn:
        changed = [_changed(txn.get(job_id), changes) for job_id in wanted]
        txn.put_many(changed, create=False)
    return changed


def _changed(job: JobInfo, changes: Changes) -> JobInfo:
    if job.state.final:
        raise InvalidState(f"job {job.id} has ended ({job.state.value}): only a job not started yet can be "
                           "altered")
    if not runner.waiting(job):
        raise InvalidState(f"job {job.id} has started or is queued on its platform ({job.state.value}): only a "
                           "job drmaa2 still holds back (--begin, a local queue, --after) can be altered")
    refused = backend_class(job.backend).unsupported_fields
    for field, value in (("priority", changes.priority), ("timeout", changes.timeout)):
        if value and field in refused:  # the job would only fail when its runner starts it
            raise UnsupportedAttribute(f"the {job.backend} backend cannot honour {field}")
    mark: dict[str, Any] = dict(job.backend_data[runner.KEY])
    if changes.start_time is not None:
        if "begin" not in mark and "slots" not in mark:
            raise InvalidState(f"job {job.id} was submitted without --begin or a local queue: its start time "
                               "cannot be set now")
        mark["begin"] = changes.start_time
    t = job.template
    template = replace(
        t,
        job_name=t.job_name if changes.name is None else changes.name,
        priority=t.priority if changes.priority is None else changes.priority,
        start_time=t.start_time if changes.start_time is None else changes.start_time,
        timeout=t.timeout if changes.timeout is None else changes.timeout,
    )
    note = runner.waiting_note(mark) if not mark.get("after") else None
    return job.evolve(template=template, backend_data={**job.backend_data, runner.KEY: mark},
                      annotation=note or job.annotation)

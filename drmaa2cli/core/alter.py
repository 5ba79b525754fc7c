"""Changing a job that has not started yet (``drmaa2 alter``, like ``qalter``, ``scontrol update``, ``pueue
edit``): its record changes under the store lock while drmaa2's runner still holds it back (for its start time,
a slot of a local queue, its dependencies or a hold the platform does not do itself). The runner reads the record
again before it starts a job, and a job started meanwhile is refused, never half changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import mark
from ..backends import backend_class
from ..deferred.launch import RunnerLaunch
from ..errors import InvalidArgument, InvalidState, UnsupportedAttribute
from ..models import JobInfo
from . import validate
from .context import Context


@dataclass(frozen=True)
class Changes:
    """What to change; None leaves a field as it is."""

    name: str | None = None
    priority: int | None = None
    start_time: float | None = None
    timeout: float | None = None
    #: New dependencies and their mode ("ok", "any"), replacing the old ones; an empty list: none.
    after: tuple[list[str], str] | None = None


def alter(ctx: Context, ids: Sequence[str], changes: Changes) -> list[JobInfo]:
    """Apply ``changes`` to the jobs named (an array id: each of its tasks), all or none, in one transaction.
    Raises InvalidState (exit 205) naming the first job that has ended or started, UnsupportedAttribute for a
    priority on a backend that refuses it, JobNotFound for an unknown id, InvalidArgument for a dependency
    that would wait for itself.

    New dependencies get the jobs a runner of their own (``deferred.runner``), started like a submission's: spawned
    before the commit and told the job number after it, so that the runner that held them before (for their
    old dependencies, their start time, a slot) lets them go -- it starts only the jobs its mark names."""
    targets = ctx.resolve_ids(ids)
    wanted = [j.id for j in targets]
    deps: list[str] = []
    launches: dict[int, RunnerLaunch] = {}
    if changes.after is not None:
        deps = [d.id for d in ctx.resolve_ids(changes.after[0])]
        _check_no_cycle(ctx, wanted, deps)
        if deps:
            launches = {n: RunnerLaunch(ctx.settings.home, ctx.environ)
                        for n in sorted({j.number for j in targets})}
    try:
        with ctx.store.transaction() as txn:
            changed = [_changed(txn.get(job_id), changes, deps, launches) for job_id in wanted]
            txn.put_many(changed, create=False)
    except BaseException:
        for launch in launches.values():
            launch.abort()
        raise
    for number, launch in launches.items():
        launch.start(number)
    return changed


def _check_no_cycle(ctx: Context, jobs: list[str], deps: list[str]) -> None:
    """Refuse dependencies that lead back to one of ``jobs`` (they would wait for each other for ever)."""
    snap = ctx.store.snapshot()
    numbers = {j.split(".", 1)[0] for j in jobs}
    seen: set[str] = set()
    todo = list(deps)
    while todo:
        job_id = todo.pop()
        if job_id in seen:
            continue
        seen.add(job_id)
        if job_id in jobs or job_id.split(".", 1)[0] in numbers:
            raise InvalidArgument(f"--after {job_id}: the job would wait for itself")
        found = snap.find(job_id)
        if found is not None and not found.state.final:
            todo.extend(found.after or [])


def _changed(job: JobInfo, changes: Changes, deps: list[str],
             launches: Mapping[int, RunnerLaunch]) -> JobInfo:
    if job.state.final:
        raise InvalidState(f"job {job.id} has ended ({job.state.value}): only a job not started yet can be "
                           "altered")
    if not mark.waiting(job):
        raise InvalidState(f"job {job.id} has started or is queued on its platform ({job.state.value}): only a "
                           "job drmaa2 still holds back (--begin, a local queue, --after) can be altered")
    refused = backend_class(job.backend).unsupported_fields
    for field, value in (("priority", changes.priority), ("timeout", changes.timeout)):
        if value and field in refused:  # the job would only fail when its runner starts it
            raise UnsupportedAttribute(f"the {job.backend} backend cannot honour {field}")
    held: dict[str, Any] = dict(mark.of(job))
    if changes.start_time is not None:
        if "begin" not in held and "slots" not in held:
            raise InvalidState(f"job {job.id} was submitted without --begin or a local queue: its start time "
                               "cannot be set now")
        held["begin"] = changes.start_time
    after, mode = job.after, job.after_mode
    if changes.after is not None:
        after, mode = deps or None, changes.after[1] if deps else None
        held["after"], held["mode"] = list(deps), changes.after[1]
        if job.number in launches:  # the new runner waits for them; the old one lets the job go
            launch = launches[job.number]
            held["runner"], held["runner_start"] = launch.pid, launch.ticks
    t = job.template
    template = replace(
        t,
        job_name=t.job_name if changes.name is None else changes.name,
        priority=t.priority if changes.priority is None else changes.priority,
        start_time=t.start_time if changes.start_time is None else changes.start_time,
        timeout=t.timeout if changes.timeout is None else changes.timeout,
    )
    validate.check_template(template)  # what a submit would refuse: a begin after the deadline, a bad value
    # A job waiting for dependencies says nothing (as after a submit); otherwise why it waits, as it did.
    annotation = None if held.get("after") else (mark.waiting_note(held) or job.annotation)
    return job.evolve(template=template, backend_data=mark.with_mark(job, held),
                      annotation=annotation, after=after, after_mode=mode)

"""Changing a job that has not started yet (``drmaa2 alter``, like ``qalter``, ``scontrol update``, ``pueue
edit``), on every backend.

* A job drmaa2's runner still holds back (for its start time, a slot of a local queue, its dependencies or a hold
  the platform does not do itself) changes in its record, under the store lock. The runner reads the record
  again before it starts a job, and a job started meanwhile is refused, never half changed.
* A job its platform holds or keeps waiting (the process shepherd's hold and ``--after``, a scheduler's held
  job or dependency) has only its name and priority changed in its record (they are drmaa2's). A new start time,
  run-time limit or dependencies re-submit it under the same id (``resubmit.py``), as qalter does where the
  platform cannot modify a job: it is held on its platform first, so it cannot start meanwhile (a platform that
  says it has started is refused, 205), then taken off and submitted again with the changes -- through the runner
  when it must now wait for a start time.

``alter ID`` with nothing to change is a usage error (201), not a refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import mark
from ..backends import backend_class
from ..deferred.launch import RunnerLaunch
from ..errors import InvalidArgument, InvalidState, UnsupportedAttribute
from ..models import JobInfo, JobState
from . import validate
from .context import Context
from .resubmit import resubmit


@dataclass(frozen=True)
class Changes:
    """What to change; None leaves a field as it is."""

    name: str | None = None
    priority: int | None = None
    start_time: float | None = None
    timeout: float | None = None
    #: New dependencies and their mode ("ok", "any"), replacing the old ones; an empty list: none.
    after: tuple[list[str], str] | None = None

    def template_changes(self) -> dict[str, Any]:
        """The template fields to change (those not None)."""
        found = {"job_name": self.name, "priority": self.priority, "start_time": self.start_time,
                 "timeout": self.timeout}
        return {k: v for k, v in found.items() if v is not None}


def alter(ctx: Context, ids: Sequence[str], changes: Changes) -> list[JobInfo]:
    """Apply ``changes`` to the jobs named (an array id: each of its tasks), all or none, in one transaction.
    Raises InvalidState (exit 205) naming the first job that has ended or started, UnsupportedAttribute for a
    priority on a backend that refuses it, JobNotFound for an unknown id, InvalidArgument for a dependency
    that would wait for itself.

    New dependencies get the jobs a runner of their own (``deferred.runner``), started like a submission's: spawned
    before the commit and told the job number after it, so that the runner that held them before (for their
    old dependencies, their start time, a slot) lets them go -- it starts only the jobs its mark names."""
    if changes == Changes():
        raise InvalidArgument("nothing to change: give --name, --priority, --begin, --timeout, --after or "
                              "--after-any")
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
    native = [j for j in targets if not mark.waiting(j) and not j.state.final]
    again: list[JobInfo] = []
    if native and (changes.start_time is not None or changes.timeout is not None or changes.after is not None):
        _check_startable(native, changes)
        try:
            again = resubmit(ctx, native, changes.template_changes(), deps, changes.after)
        except BaseException:
            for launch in launches.values():
                launch.abort()
            raise
        done = {j.id for j in again}
        wanted = [i for i in wanted if i not in done]
        if not wanted:
            for launch in launches.values():
                launch.abort()
            return again
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
    return again + changed


#: The states of a job not started yet: waiting (for whatever reason) or held.
NOT_STARTED = frozenset({JobState.QUEUED, JobState.QUEUED_HELD, JobState.REQUEUED, JobState.REQUEUED_HELD})


def check_fields(job: JobInfo, changes: Changes) -> None:
    """Refuse a priority or a run-time limit ``job``'s backend cannot honour: the job would only fail when it
    starts."""
    refused = backend_class(job.backend).unsupported_fields
    for field, value in (("priority", changes.priority), ("timeout", changes.timeout)):
        if value and field in refused:
            raise UnsupportedAttribute(f"the {job.backend} backend cannot honour {field}")


def _check_startable(jobs: Sequence[JobInfo], changes: Changes) -> None:
    """The checks of ``_changed`` for jobs that are re-submitted: none has started or ended (as last recorded;
    their platform has the last word when they are held), and the changes fit their backend."""
    for job in jobs:
        if job.state.final or job.state not in NOT_STARTED:
            raise InvalidState(f"job {job.id} has started ({job.state.value}): only a job not started yet can "
                               "be altered")
        check_fields(job, changes)


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
    if job.state not in NOT_STARTED:
        raise InvalidState(f"job {job.id} has started ({job.state.value}): only a job not started yet can be "
                           "altered")
    check_fields(job, changes)
    if not mark.waiting(job):  # queued on its platform: what is drmaa2's alone (``resubmit`` does the rest)
        return job.evolve(template=replace(
            job.template,
            job_name=job.template.job_name if changes.name is None else changes.name,
            priority=job.template.priority if changes.priority is None else changes.priority,
        ))
    held: dict[str, Any] = dict(mark.of(job))
    if changes.start_time is not None:  # its runner reads the start time again before each start
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

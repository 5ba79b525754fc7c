"""Kill, hold, release, suspend and resume: which jobs an action applies to, and one answer on every
backend."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Drmaa2Error, InvalidState
from ..models import JobInfo, JobState
from .context import Context
from .query import Query

#: The states in which a control action changes a job; a task named through its array id in another state is
#: skipped (see ``Control.apply``).
APPLIES = {
    "terminate": frozenset(s for s in JobState if not s.final),
    "hold": frozenset({JobState.QUEUED, JobState.REQUEUED, JobState.UNDETERMINED}),
    "release": frozenset({JobState.QUEUED_HELD, JobState.REQUEUED_HELD, JobState.UNDETERMINED}),
    "suspend": frozenset({JobState.RUNNING, JobState.UNDETERMINED}),
    "resume": frozenset({JobState.SUSPENDED, JobState.UNDETERMINED}),
}
#: A job named alone that is already where the action would take it is left as it is (holding a held job is
#: no error, as with qhold and scontrol hold).
ALREADY = {
    "terminate": frozenset(), "hold": frozenset({JobState.QUEUED_HELD, JobState.REQUEUED_HELD}),
    "release": frozenset(), "suspend": frozenset({JobState.SUSPENDED}), "resume": frozenset(),
}
REFUSED = {
    "terminate": "job {id} has already ended ({state})", "hold": "job {id} has started ({state}); only queued "
    "jobs can be held", "release": "job {id} is not held ({state})", "suspend": "job {id} is not running "
    "({state})", "resume": "job {id} is not suspended ({state})",
}
PAST = {"terminate": "killed", "hold": "held", "release": "released", "suspend": "suspended", "resume": "resumed"}
#: The state a job is recorded in once its platform took the action (the others show at the next refresh).
RECORDED = {"hold": JobState.QUEUED_HELD, "release": JobState.QUEUED}


class Control:
    def __init__(self, ctx: Context, query: Query) -> None:
        self.ctx, self.query = ctx, query

    def apply(self, ids: Sequence[str], action: str, *args: object) -> list[JobInfo]:
        """Apply ``action`` to the jobs named. A job or task named by its own id must be in a state the action
        applies to (else InvalidState, exit 205). A task named through its array id is skipped when the action
        does not apply to it (a running task is not held, a queued one not suspended, an ended one not
        killed); the array as a whole is an error only when the action applied to none of its tasks."""
        jobs = self.query.jobs(ids)
        named = {i.strip() for i in ids}
        errors: list[Drmaa2Error] = []
        reached: dict[str, int] = {}  # array id -> tasks the action was applied to
        skipped: dict[str, list[JobInfo]] = {}  # array id -> tasks it did not apply to
        chosen: list[tuple[JobInfo, str | None]] = []  # (job, its array id) the action applies to
        for job in jobs:
            array = job.id.partition(".")[0] if "." in job.id and job.id not in named else None
            if array is not None:
                reached.setdefault(array, 0)
                if not _applies(job, action):
                    skipped.setdefault(array, []).append(job)
                    continue
            elif job.state.final:
                errors.append(InvalidState(f"job {job.id} has already ended ({job.state.value})"))
                continue
            elif not _applies(job, action):
                # Decided here, from the state, so that every backend answers alike (one that cannot hold at
                # all would otherwise say 204 for a job that has simply started).
                if job.state not in ALREADY[action]:
                    errors.append(InvalidState(REFUSED[action].format(id=job.id, state=job.state.value)))
                continue
            chosen.append((job, array))
        outcomes: dict[str, JobInfo | Drmaa2Error | None] = {}
        by_backend: dict[str, list[JobInfo]] = {}
        # A kill reaches the jobs that wait before those that run: a throttled array's scheduler would start
        # the next task as soon as a running one ended, before its own kill came.
        ordered = sorted(chosen, key=lambda c: c[0].state is JobState.RUNNING) if action == "terminate" else chosen
        for job, _ in ordered:
            by_backend.setdefault(job.backend, []).append(job)

        def before(jobs: Sequence[JobInfo]) -> None:
            self.mark_terminated(jobs, args[0])

        for name, group in by_backend.items():
            found = self.ctx.backend(name).control(action, group, *args,
                                                   before=before if action == "terminate" else None)
            outcomes.update(zip((j.id for j in group), found, strict=True))
        updates: list[JobInfo] = []
        for job, array in chosen:  # in the order named, whatever the backend: the last error is the one raised
            outcome = outcomes[job.id]
            if isinstance(outcome, InvalidState) and array is not None:
                skipped.setdefault(array, []).append(job)  # it started or ended since we looked
                continue
            if isinstance(outcome, Drmaa2Error):
                errors.append(outcome)
                continue
            if outcome is not None and action in RECORDED:
                updates.append(outcome.evolve(state=RECORDED[action]))
            if array is not None:
                reached[array] += 1
        self.ctx.persist(updates)
        for array, count in reached.items():
            if count == 0:
                counts: dict[str, int] = {}
                for job in skipped.get(array, []):
                    counts[job.state.value] = counts.get(job.state.value, 0) + 1
                states = ", ".join(f"{n} {state}" for state, n in counts.items())
                errors.append(InvalidState(f"no task of array {array} can be {PAST[action]} ({states})"))
        if errors:
            for e in errors[:-1]:
                self.ctx.warn(str(e))
            raise errors[-1]
        return self.query.refresh(self.ctx.resolve_ids(ids))

    def mark_terminated(self, jobs: Sequence[JobInfo], signal: object) -> None:
        """Record in each job's backend data that drmaa2 asked to end it (``terminate_requested``: the signal,
        None for the graceful default), before asking: a platform that reports only "cancelled" can then tell
        our kill, which ends by SIGTERM, from someone else's cancel. Written first so that no refresh can
        record the end before the mark; the store keeps the mark through later writes, and a refresh of a
        copy read before it looks it up when the job ends (``Query._kill_marks_for_ended``)."""
        if not jobs:
            return
        with self.ctx.store.transaction() as txn:
            txn.set_data((j.id for j in jobs), "terminate_requested", signal)


def _applies(job: JobInfo, action: str) -> bool:
    """Whether ``action`` would change ``job`` (undetermined: ask the backend, which refuses if not)."""
    return job.state in APPLIES[action]

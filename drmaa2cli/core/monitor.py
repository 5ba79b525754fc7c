"""The monitoring session: the platform's machines, queues and jobs (`drmaa2 machines`, `queues`, `jobs`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from ..errors import JobNotFound, UnsupportedOperation
from ..models import JobInfo, JobState
from ..monitoring import MachineInfo, PlatformJob, QueueInfo
from .context import Context
from .query import Query


class Monitor:
    def __init__(self, ctx: Context, query: Query) -> None:
        self.ctx, self.query = ctx, query

    def machines(self, backend: str, names: Sequence[str] = ()) -> list[MachineInfo]:
        """The execution hosts of ``backend`` (only those named, if ``names``). Raises UnsupportedOperation
        where the platform hides them, BackendUnavailable, DeniedByDrms."""
        found = self.ctx.backend(backend).machines()
        return _named(found, names, "machine", backend)

    def queues(self, backend: str, names: Sequence[str] = ()) -> list[QueueInfo]:
        """Where jobs of ``backend`` can be submitted (only those named, if ``names``): the platform's queues,
        and the local queues of the config (``[queues.NAME] slots = N``) where ``--queue`` names one of those
        (its jobs running now are ``used``). Raises JobNotFound (202) for a name that is neither."""
        be = self.ctx.backend(backend)
        found = be.queues()
        if "queue_name" in be.unsupported_fields and self.ctx.settings.queues:
            live = self.ctx.store.snapshot().live_records()
            busy = Counter(r.get("template", {}).get("queue_name") for r in live
                           if r["backend"] == backend and r["state"] in _BUSY)
            found += [QueueInfo(name, slots=slots, used=busy[name])
                      for name, slots in sorted(self.ctx.settings.queues.items())]
        return _named(found, names, "queue", backend)

    def all_jobs(self, backend: str) -> list[PlatformJob]:
        """Every job the platform shows this user, drmaa2's marked with their drmaa2 id; where the platform
        cannot list jobs (processes, cf), drmaa2's own jobs of that backend in every session that the live
        store holds (active and recently ended ones). Only this backend's jobs are refreshed."""
        snap = self.ctx.store.snapshot()
        ours = self.query.refresh([JobInfo.from_record(r) for r in snap.live_records() if r["backend"] == backend])
        try:
            found = self.ctx.backend(backend).platform_jobs()
        except UnsupportedOperation:
            return [_platform(j) for j in ours]
        by_native = {str(j.native_id): j.id for j in ours if j.native_id}
        for job in found:
            job.drmaa2_id = by_native.get(job.native_id)
        return found


#: The states of a job that holds a slot of its local queue.
_BUSY = frozenset({JobState.RUNNING.value, JobState.SUSPENDED.value})
_Named = TypeVar("_Named", MachineInfo, QueueInfo)


def _named(found: list[_Named], names: Sequence[str], what: str, backend: str) -> list[_Named]:
    """The ones of ``found`` named in ``names`` (all when none is); JobNotFound (202) for a name not there."""
    if not names:
        return found
    known = {f.name for f in found}
    unknown = next((n for n in names if n not in known), None)
    if unknown is not None:
        listed = ", ".join(sorted(known)) or "none"
        raise JobNotFound(f"unknown {what} {unknown} on the {backend} backend (its {what}s: {listed})")
    return [f for f in found if f.name in names]


def _platform(job: JobInfo) -> PlatformJob:
    return PlatformJob(native_id=str(job.native_id or job.id), name=job.name, state=job.state.value,
                       owner=job.job_owner, queue=job.template.queue_name, machine=job.machine, drmaa2_id=job.id)

"""The monitoring session: the platform's machines, queues and jobs (`drmaa2 machines`, `queues`, `jobs`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UnsupportedOperation
from ..models import JobInfo
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
        return [m for m in found if not names or m.name in names]

    def queues(self, backend: str, names: Sequence[str] = ()) -> list[QueueInfo]:
        """Where jobs of ``backend`` can be submitted (only those named, if ``names``)."""
        found = self.ctx.backend(backend).queues()
        return [q for q in found if not names or q.name in names]

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


def _platform(job: JobInfo) -> PlatformJob:
    return PlatformJob(native_id=str(job.native_id or job.id), name=job.name, state=job.state.value,
                       owner=job.job_owner, queue=job.template.queue_name, machine=job.machine, drmaa2_id=job.id)

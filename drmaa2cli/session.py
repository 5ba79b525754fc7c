"""The DRMAA2-style Python API: job sessions and jobs over ``Service``, without the CLI (no Typer import).

    from drmaa2cli import JobSession, JobTemplate
    session = JobSession.open("nightly")
    job = session.run_job(JobTemplate(remote_command="sh", args=["-c", "exit 3"]))
    info = job.wait_terminated()
    assert info.exit_status == 3

Names follow the DRMAA2 IDL in snake_case (RunJob -> run_job, WaitAnyTerminated -> wait_any_terminated).
Every method raises ``Drmaa2Error`` subclasses only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import config
from .errors import WaitTimeout
from .models import ArraySpec, JobInfo, JobState, JobTemplate
from .service import Service


class Job:
    """One job (or one array task) of a session."""

    def __init__(self, session: JobSession, job_id: str) -> None:
        self.session = session
        self.id = job_id

    def __repr__(self) -> str:
        return f"Job({self.id!r})"

    def get_job_info(self) -> JobInfo:
        return self.session.service.jobs([self.id])[0]

    def get_state(self) -> JobState:
        return self.get_job_info().state

    def wait_terminated(self, timeout: float | None = None) -> JobInfo:
        """Block until the job ended; raises WaitTimeout after ``timeout`` seconds."""
        return self.session.service.wait([self.id], timeout=timeout)[0]

    def terminate(self) -> None:
        self.session.service.kill([self.id])

    def suspend(self) -> None:
        self.session.service.suspend([self.id])

    def resume(self) -> None:
        self.session.service.resume([self.id])

    def hold(self) -> None:
        self.session.service.hold([self.id])

    def release(self) -> None:
        self.session.service.release([self.id])


class JobSession:
    """A named DRMAA2 job session in a drmaa2 home (``$DRMAA2_HOME`` by default)."""

    def __init__(self, name: str, service: Service) -> None:
        self.name = name
        self.service = service

    @classmethod
    def open(cls, name: str = "default", backend: str | None = None,
             environ: Mapping[str, str] | None = None) -> JobSession:
        """Open (and create on first use) the session ``name``; ``backend`` defaults as in the CLI."""
        settings = config.resolve({"session": name, "backend": backend}, environ)
        return cls(name, Service(settings, environ))

    def run_job(self, template: JobTemplate) -> Job:
        return Job(self, self.service.submit(template, session=self.name).id)

    def run_bulk_jobs(self, template: JobTemplate, begin: int, end: int, step: int = 1,
                      max_parallel: int | None = None) -> list[Job]:
        """An array job (DRMAA2 RunBulkJobs); each task sees DRMAA2_TASK_ID."""
        tasks = self.service.submit_jobs(template, session=self.name,
                                         array=ArraySpec(begin, end, step, max_parallel))
        return [Job(self, t.id) for t in tasks]

    def get_jobs(self) -> list[Job]:
        jobs, _ = self.service.list_jobs(session=self.name, limit=None)
        return [Job(self, j.id) for j in jobs]

    def wait_any_terminated(self, jobs: Sequence[Job], timeout: float | None = None) -> Job:
        infos = self.service.wait([j.id for j in jobs], timeout=timeout, any_job=True)
        ended = next(i for i in infos if i.state.final)
        return Job(self, ended.id)

    def wait_all_terminated(self, jobs: Sequence[Job], timeout: float | None = None) -> list[JobInfo]:
        return self.service.wait([j.id for j in jobs], timeout=timeout)


__all__ = ["Job", "JobSession", "WaitTimeout"]

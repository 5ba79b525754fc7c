"""Test helpers shared by the Slurm and Grid Engine tests: start a cluster with its infra script, and drive a
backend through the contract the way the core does (prepare, bind, start_all, refresh, wait_any)."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from drmaa2cli.backends.base import Backend
from drmaa2cli.errors import Drmaa2Error
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from tests.requires import unavailable

INFRA = Path(__file__).resolve().parents[1] / "infra"


def start_cluster(script: str) -> dict[str, str]:
    """Run tests/infra/<script> and return the environment it prints (``export K=V`` lines)."""
    if os.geteuid() != 0:
        unavailable(f"{script} needs root to install and start the scheduler's daemons")
    try:
        proc = subprocess.run([str(INFRA / script)], capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        unavailable(f"{script} could not run: {e}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        unavailable(f"{script} could not start the scheduler: {last}")
    env = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value
    return env


class Driver:
    """Submits and watches jobs like the core does; ``cleanup`` ends whatever is still active."""

    numbers = itertools.count(100)

    def __init__(self, backend: Backend, session: str = "test") -> None:
        self.backend = backend
        self.session = session
        self.jobs: dict[str, JobInfo] = {}

    def submit(self, template: JobTemplate, array: Any = None, after: Any = None) -> list[JobInfo]:
        kwargs = {k: v for k, v in (("array", array), ("after", after)) if v is not None}
        launch = self.backend.prepare(template, **kwargs)  # type: ignore[call-arg]
        number = next(self.numbers)
        ids = [str(number)] if array is None else [f"{number}.{i}" for i in array.indices]
        jobs = []
        for job_id in ids:
            job = JobInfo(
                id=job_id, session=self.session, backend=self.backend.name, template=template,
                state=JobState.QUEUED_HELD if template.submit_as_hold else JobState.QUEUED,
                submission_time=time.time(),
            )
            launch.bind(job)
            jobs.append(job)
        started = {j.id: j for j in launch.start_all(jobs)}
        jobs = [started.get(j.id, j) for j in jobs]
        self.jobs.update((j.id, j) for j in jobs)
        return jobs

    def run(self, argv: Sequence[str], **fields: Any) -> JobInfo:
        (job,) = self.submit(JobTemplate(remote_command=argv[0], args=list(argv[1:]), **fields))
        return job

    def refresh(self, jobs: Iterable[JobInfo]) -> list[JobInfo]:
        jobs = [self.jobs[j.id] for j in jobs]
        for new in self.backend.refresh(jobs):
            assert not (self.jobs[new.id].state.final and new.state != self.jobs[new.id].state)
            self.jobs[new.id] = new
        return [self.jobs[j.id] for j in jobs]

    def wait(self, jobs: Sequence[JobInfo], timeout: float = 60.0) -> list[JobInfo]:
        """Every job final, or an AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.refresh(jobs)
            pending = [j for j in jobs if not j.state.final]
            if not pending:
                return jobs
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"still active: {[(j.id, j.state.value, j.annotation) for j in pending]}"
            self.backend.wait_any(pending, remaining)

    def wait_for(self, job: JobInfo, *states: JobState, timeout: float = 60.0) -> JobInfo:
        deadline = time.monotonic() + timeout
        while True:
            (job,) = self.refresh([job])
            if job.state in states:
                return job
            assert time.monotonic() < deadline, f"job {job.id} stayed {job.state.value}"
            time.sleep(0.1)

    def cleanup(self) -> None:
        for job in self.jobs.values():
            if not job.state.final and job.native_id:
                with contextlib.suppress(Drmaa2Error):
                    self.backend.terminate(job, 9)

"""The launches of deferred starts: the runner process spawned for a submission (``RunnerLaunch``), the launch
that marks jobs for it instead of starting them (``LaterLaunch``), and one that gives a job with a deadline the
run-time limit its deadline leaves (``Timed``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from .. import mark
from ..backends.base import Launch
from ..models import JobInfo
from ..procfs import DetachedLaunch


class RunnerLaunch(DetachedLaunch):
    """A runner process started early, waiting for the job number."""

    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        # This process's environment with the submitter's settings over it (a library user's ``environ``: the
        # backends the runner starts jobs on read their credentials and engine addresses there, CF_HOME say).
        # Its errors (one line each) are kept for the user in HOME/runner.log.
        env = {**os.environ, **environ, "DRMAA2_HOME": str(home)}
        super().__init__(module="drmaa2cli", args=["_runner"], env=env, stderr_path=str(home / "runner.log"))

    def start(self, number: int) -> None:
        self.send(str(number).encode())


class LaterLaunch(Launch):
    """A submission the runner starts: bound through the real backend's launch (paths, names), which is then
    abandoned, and marked for the runner."""

    def __init__(self, inner: Launch, runner: RunnerLaunch, after: list[str], mode: str,
                 max_parallel: int | None, slots: str | None = None, begin: float | None = None) -> None:
        self.inner, self.runner = inner, runner
        self.after, self.mode, self.max_parallel = after, mode, max_parallel
        self.slots, self.begin = slots, begin

    def bind(self, job: JobInfo) -> None:
        self.inner.bind(job)
        new = mark.new((self.runner.pid, self.runner.ticks), self.after, self.mode, self.max_parallel,
                       self.slots, self.begin)
        job.backend_data[mark.KEY] = new
        if job.template.retries:  # the runner stays to start the retries
            job.backend_data[mark.RETRIER] = [self.runner.pid, self.runner.ticks]
        if not self.after:  # a dependency's wait says nothing: the job waits for that first
            job.annotation = mark.waiting_note(new)

    def start(self, job: JobInfo) -> JobInfo | None:
        self.start_all([job])
        return None

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        self.inner.abort()  # nothing starts now: the runner starts each job through a launch of its own
        self.runner.start(jobs[0].number)
        return []

    def abort(self) -> None:
        self.inner.abort()
        self.runner.abort()


class Timed(Launch):
    """A launch whose jobs' records get the run-time limit their deadline leaves (a backend may read the limit
    from the record: docker's watchdog, its refresh)."""

    def __init__(self, inner: Launch, timeout: float | None) -> None:
        self.inner, self.timeout = inner, timeout

    def bind(self, job: JobInfo) -> None:
        job.template = replace(job.template, timeout=self.timeout)
        self.inner.bind(job)

    def start(self, job: JobInfo) -> JobInfo | None:
        return self.inner.start(job)

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        return self.inner.start_all(jobs)

    def abort(self) -> None:
        self.inner.abort()

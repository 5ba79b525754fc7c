"""Deferred starts for backends that lack a job-control feature natively (arrays with a throttle, dependencies
across backends, holds): one detached ``drmaa2 _runner`` process per submission starts the jobs later through
the plain backend protocol, so no daemon ever has to be started by the user.

Like the process shepherd, the runner is spawned *before* the records are committed and receives the job
number on stdin only after the commit: a submitter that dies in between leaves no runner behind. Kill, hold and
release of a job the runner has not started yet only change its record; the runner reads the store before each
start.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .backends import ending
from .errors import Drmaa2Error, JobNotFound
from .models import JobInfo, JobState
from .procfs import DetachedLaunch, alive

if TYPE_CHECKING:
    from .service import Service

POLL_SECONDS = 0.2


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


def runner_alive(job: JobInfo) -> bool:
    info = job.backend_data.get("deferred", {})
    pid = info.get("runner")
    return pid is not None and alive(int(pid), info.get("runner_start"))


def read_number() -> int | None:
    data = sys.stdin.buffer.read().strip()
    return int(data) if data.isdigit() else None


def start_one(svc: Service, job: JobInfo) -> None:
    """Start one deferred job unless it was killed or held meanwhile (checked under the store lock)."""
    be = svc.backend(job.backend)
    try:
        # The runner has done the waiting: the job starts now, whatever the template asked for.
        launch = be.prepare(replace(job.template, submit_as_hold=False))
    except Drmaa2Error as e:
        svc.fail([job], f"could not start: {e}")
        return
    data = {k: v for k, v in job.backend_data.items() if k != "deferred"}
    bound = job.evolve(backend_data=data)
    launch.bind(bound)
    with svc.store.transaction() as txn:
        current = txn.find(job.id)
        if current is None or current.state is not JobState.QUEUED or "deferred" not in current.backend_data:
            launch.abort()
            return
        txn.put(bound)
    try:
        updated = launch.start(bound)
    except Drmaa2Error as e:
        svc.fail([bound], f"could not start: {e}")
        return
    if updated is not None:
        svc.persist([updated])


def run(svc: Service, number: int) -> None:
    """Wait for the dependencies of job ``number``, then start its jobs (at most max_parallel at once)."""
    jobs = svc.resolve_ids([str(number)])
    info = jobs[0].backend_data.get("deferred", {})
    if info.get("after"):
        try:
            deps = svc.wait(info["after"])
        except JobNotFound as e:
            svc.fail(jobs, f"dependency gone: {e}")
            return
        failed = next((d for d in deps if d.state is not JobState.DONE), None)
        if failed is not None and info.get("mode") != "any":
            svc.fail(jobs, ending.dependency_failed([failed.id], failed.annotation or failed.state.value))
            return
    max_parallel = info.get("max_parallel") or len(jobs)
    be = svc.backend(jobs[0].backend)
    while True:
        jobs = svc.refresh(svc.resolve_ids([str(number)]))
        waiting = [j for j in jobs if "deferred" in j.backend_data and not j.state.final]
        running = [j for j in jobs if "deferred" not in j.backend_data and not j.state.final]
        if not waiting:
            return
        room = max_parallel - len(running)
        startable = [j for j in waiting if j.state is JobState.QUEUED][: max(0, room)]
        for job in startable:
            start_one(svc, job)
        if startable and room > len(startable):
            continue
        if running and room <= len(startable):
            be.wait_any(running, 1.0)
        else:
            time.sleep(POLL_SECONDS)  # held jobs: a release changes the record

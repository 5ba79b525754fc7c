"""The watcher: one detached process per submission (``drmaa2 _notify``) that sees its jobs begin and end where
no drmaa2 process does -- containers, Kubernetes Jobs, cf tasks, and the hooks of jobs on a scheduler (whose own
mail is the scheduler's) -- and fires their notifications (``fire.notify``).

Spawned like the deferred runner (``deferred.launch.RunnerLaunch``): before the records are committed, told the
job number and its orders on stdin after, so that a submitter that dies in between leaves no watcher behind. It
follows the jobs with the core's own ``wait`` (every backend's way of seeing an end) and looks at each state on
the way for the start. Its own complaints go to ``notify.log`` in the home.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from ..backends.base import Backend, Launch
from ..errors import Drmaa2Error
from ..models import JobInfo, JobState, JobTemplate
from ..procfs import DetachedLaunch
from ..store import Store
from . import fire
from .orders import LOG_NAME, variables, watcher_orders


class Core(Protocol):
    """What the watcher uses of the core that drives it (``drmaa2cli.service.Service``, handed over by the
    ``drmaa2 _notify`` command)."""

    @property
    def store(self) -> Store: ...

    def wait(self, ids: Sequence[str], timeout: float | None = None, any_job: bool = False,
             on_progress: Callable[[list[JobInfo]], None] | None = None) -> list[JobInfo]: ...


def began(job: JobInfo) -> bool:
    """The job has started on its platform (it may have ended since)."""
    return job.state in (JobState.RUNNING, JobState.SUSPENDED) or job.dispatch_time is not None


class Events:
    """Which events of which jobs were fired: each once, begin before end. The hook runs for every task; an
    array's mail is one at its first task's start and one once its last task ended (``tasks``: how many it has),
    as sbatch's mail for an array as a whole."""

    def __init__(self, orders: Mapping[str, str], fire_one: Callable[..., None] = fire.notify,
                 tasks: int = 1) -> None:
        self.orders, self.fire_one, self.tasks = dict(orders), fire_one, tasks
        self.begun: set[str] = set()
        self.ended: set[str] = set()
        self.failed = 0

    def look(self, jobs: Sequence[JobInfo]) -> None:
        for job in jobs:
            if job.id not in self.begun and began(job):
                self.begun.add(job.id)
                self.fire(job, "begin")
            if job.state.final and job.id not in self.ended:
                self.ended.add(job.id)
                self.failed += job.state is not JobState.DONE
                self.fire(job, "end" if job.state is JobState.DONE else "fail")

    def fire(self, job: JobInfo, event: str) -> None:
        if self.tasks == 1:
            self.fire_one(self.orders, variables(job, event))
            return
        if self.orders.get("command"):
            self.fire_one({**self.orders, "mail": ""}, variables(job, event))
        first = event == "begin" and len(self.begun) == 1
        if self.orders.get("mail") and (first or (event != "begin" and len(self.ended) == self.tasks)):
            whole = variables(job, event)
            for key in ("DRMAA2_TASK_ID", "DRMAA2_EXIT_STATUS", "DRMAA2_SIGNAL", "DRMAA2_ANNOTATION"):
                whole.pop(key, None)
            if event != "begin":
                whole["DRMAA2_EVENT"], whole["DRMAA2_JOB_STATE"] = ("fail", "failed") if self.failed else (
                    "end", "done")
                whole["DRMAA2_ANNOTATION"] = f"{self.failed} of {self.tasks} tasks failed"
            self.fire_one({**self.orders, "command": ""}, whole)


def run(svc: Core, number: int, orders: Mapping[str, str]) -> None:
    """Fire the notifications of the jobs of ``number`` until every one has ended."""
    ids = [j.id for j in svc.store.snapshot().tasks(number)]
    if not ids:
        return
    events = Events(orders, tasks=len(ids))
    try:
        svc.wait(ids, on_progress=events.look)
    except Drmaa2Error as e:  # the jobs were removed, or their platform is gone for good
        fire.log(orders.get("log") or os.devnull, f"job {number}: notifications stopped: {e}")


def read_orders() -> tuple[int, dict[str, str]] | None:
    """The job number and orders a submission sent on stdin; None at end-of-file (it was abandoned)."""
    import json

    data = sys.stdin.buffer.read()
    if not data.strip():
        return None
    message = json.loads(data)
    return int(message["number"]), {str(k): str(v) for k, v in message["orders"].items()}


class WatcherLaunch(DetachedLaunch):
    """A watcher process started early, waiting for the job number and its orders."""

    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        # The submitter's settings over this process's environment: the watcher talks to the same platform,
        # and the hook runs with the user's PATH.
        env = {**os.environ, **environ, "DRMAA2_HOME": str(home)}
        super().__init__(module="drmaa2cli", args=["_notify"], env=env, stderr_path=str(home / LOG_NAME))


class Watched(Launch):
    """A launch whose jobs a watcher follows once they were handed to the platform."""

    def __init__(self, inner: Launch, orders: dict[str, str], watcher: WatcherLaunch) -> None:
        self.inner, self.orders, self.watcher = inner, orders, watcher

    def bind(self, job: JobInfo) -> None:
        self.inner.bind(job)

    def start(self, job: JobInfo) -> JobInfo | None:
        changed = self.start_all([job])
        return changed[0] if changed else None

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        try:
            changed = self.inner.start_all(jobs)
        except BaseException:
            self.watcher.abort()
            raise
        import json  # only for the jobs that are watched: not worth loading on every submit

        self.watcher.send(json.dumps({"number": jobs[0].number, "orders": self.orders}).encode())
        return changed

    def abort(self) -> None:
        self.watcher.abort()
        self.inner.abort()


def watched(launch: Launch, template: JobTemplate, backend: Backend) -> Launch:
    """``launch``, followed by a watcher when ``template`` asks for notifications ``backend`` does not send
    itself (``Backend.notifies``)."""
    if not template.mail_types and not template.notify_command:
        return launch
    orders = watcher_orders(template, type(backend), backend.ctx.home)
    if orders is None:
        return launch
    return Watched(launch, orders, WatcherLaunch(backend.ctx.home, backend.ctx.environ))

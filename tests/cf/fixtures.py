"""Fixtures for the Cloud Foundry backend: the stand-in, a cf CLI login pointing at it, and the backend.

Usable as a pytest plugin (``pytest_plugins = ["tests.cf.fixtures"]``) so that the shared CLI contract
suite can take ``cf_target``. Nothing here needs a real Cloud Foundry: the stand-in runs every task as a
local ``sh -c`` process, so there is no engine that could be missing.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.cf.backend import CFBackend
from drmaa2cli.errors import BackendUnavailable
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from tests.cf_standin import StandIn

INSTANCE = "c0ffee42"


def write_cf_config(cf_home: Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` as the cf CLI does: $CF_HOME/.cf/config.json, mode 0600."""
    path = cf_home / ".cf" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    return path


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def cf_home(tmp_path: Path, standin: StandIn) -> Path:
    home = tmp_path / "cf-home"
    write_cf_config(home, standin.cf_config())
    return home


@pytest.fixture
def cf_target(cf_home: Path) -> dict[str, Any]:
    """What the shared CLI contract suite needs to run its jobs on the cf backend."""
    return {"options": ["--backend", "cf", "--app", "worker"], "env": {"CF_HOME": str(cf_home)}}


def make_backend(home: Path, environ: dict[str, str], **settings: Any) -> CFBackend:
    ctx = BackendContext(home=home, instance=INSTANCE, settings={"retries": 3, **settings}, environ=environ)
    return CFBackend(ctx)


class Harness:
    """Drives a backend the way the core does (prepare, bind, start; refresh and wait_any)."""

    def __init__(self, backend: CFBackend) -> None:
        self.backend = backend
        self.ids = itertools.count(1)

    def submit(self, *argv: str, app: str = "worker", session: str = "default", **fields: Any) -> JobInfo:
        template = JobTemplate(remote_command=argv[0], args=list(argv[1:]), job_category=app, **fields)
        launch = self.backend.prepare(template)
        job = JobInfo(
            id=str(next(self.ids)),
            session=session,
            backend="cf",
            state=JobState.QUEUED,
            template=template,
            submission_time=time.time(),
        )
        launch.bind(job)
        return launch.start(job) or job

    def refresh(self, job: JobInfo) -> JobInfo:
        try:
            changed = self.backend.refresh([job])
        except BackendUnavailable:
            return job  # as the core does: keep the last known state
        return changed[0] if changed else job

    def wait(self, job: JobInfo, timeout: float = 30.0) -> JobInfo:
        deadline = time.monotonic() + timeout
        while True:
            job = self.refresh(job)
            if job.state.final:
                return job
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"job {job.id} still {job.state.value} after {timeout} s"
            self.backend.wait_any([job], remaining)


@pytest.fixture
def drmaa2_home(tmp_path: Path) -> Path:
    return tmp_path / "drmaa2-home"


@pytest.fixture
def cf_backend(drmaa2_home: Path, cf_home: Path) -> CFBackend:
    return make_backend(drmaa2_home, {"CF_HOME": str(cf_home)})


@pytest.fixture
def harness(cf_backend: CFBackend) -> Harness:
    return Harness(cf_backend)

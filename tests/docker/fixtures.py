"""Fixtures for the docker backend's tests, on a real engine (tests/infra/docker-engine.sh provides one).

Usable as a pytest plugin (``pytest_plugins = ["tests.docker.fixtures"]``) so that the shared CLI contract
suite can take ``docker_target``. Without an engine the tests are skipped, with the reason; with CI=true
they fail instead.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.docker import engine as engine_module
from drmaa2cli.backends.docker.backend import DockerBackend
from drmaa2cli.backends.docker.engine import Engine
from drmaa2cli.models import JobInfo, JobTemplate
from tests.requires import unavailable
from tests.slurm.sched_driver import start_cluster

IMAGE = "drmaa2-test/busybox:1"
#: The engines the docker backend's own tests run against.
ENGINES = ("docker", "podman")
ENGINE_SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "docker-engine.sh"


@pytest.fixture(scope="session")
def dockerd() -> str:
    """Make sure a Docker engine answers and the test image exists; returns the image."""
    try:
        run = subprocess.run(["bash", str(ENGINE_SCRIPT)], capture_output=True, text=True, timeout=900)
        lines = run.stderr.strip().splitlines()
        problem = None if run.returncode == 0 else lines[-1] if lines else f"exit status {run.returncode}"
    except subprocess.TimeoutExpired:
        problem = f"{ENGINE_SCRIPT.name} did not finish within 900 s"
    if problem is not None:
        unavailable(f"no Docker engine for the tests: {problem}")
    return IMAGE


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """Podman's API service on its own socket, with the test image (tests/infra/podman.sh, started if it does
    not answer): ``CONTAINER_HOST``."""
    return start_cluster("podman.sh")


class EngineUnderTest(NamedTuple):
    """The engine a docker test runs against: its name, the test image, the variables that select it."""

    name: str
    image: str
    env: dict[str, str]


@pytest.fixture(scope="session", params=ENGINES)
def docker_engine(request: pytest.FixtureRequest) -> EngineUnderTest:
    """The docker backend's tests run against each engine that speaks its API: Docker, and Podman with
    ``DOCKER_HOST`` at its socket."""
    if request.param == "podman":
        env: dict[str, str] = request.getfixturevalue("podman_env")
        return EngineUnderTest("podman", IMAGE, {"DOCKER_HOST": env["CONTAINER_HOST"]})
    return EngineUnderTest("docker", request.getfixturevalue("dockerd"), {})


@pytest.fixture(autouse=True)
def _engine_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point a docker test at its engine before its other fixtures copy the environment."""
    if "docker_engine" in request.fixturenames:
        for key, value in request.getfixturevalue("docker_engine").env.items():
            monkeypatch.setenv(key, value)


@pytest.fixture
def docker_target(dockerd: str) -> dict[str, Any]:
    """How the shared CLI contract suite runs its jobs on this backend."""
    names = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
    env = {k: os.environ[k] for k in names if k in os.environ}
    return {"options": ["--backend", "docker", "--image", dockerd], "env": env}


@pytest.fixture
def podman_target(podman_env: dict[str, str]) -> dict[str, Any]:
    """How the shared CLI contract suite runs its jobs on the podman backend."""
    return {"options": ["--backend", "podman", "--image", IMAGE], "env": dict(podman_env)}


class Jobs:
    """Submits through the backend contract as the core does, and observes with fresh backend instances
    (a submitter that has gone), in one drmaa2 home with its own instance id."""

    def __init__(self, home: Path, instance: str, environ: dict[str, str] | None = None,
                 engine_name: str = "docker") -> None:
        self.home = home
        #: "docker" or "podman": the engine behind the docker backend in this test.
        self.engine_name = engine_name
        self.instance = instance
        self.environ = dict(os.environ) if environ is None else environ
        self.count = 0
        # The tests' own view of the engine, whatever a test does to ``environ``.
        self.engine = Engine(dict(os.environ))

    def backend(self) -> DockerBackend:
        return DockerBackend(BackendContext(home=self.home, instance=self.instance, environ=self.environ))

    def template(self, *argv: str, **fields: Any) -> JobTemplate:
        fields.setdefault("job_category", IMAGE)
        return JobTemplate(remote_command=argv[0], args=list(argv[1:]), **fields)

    def submit(self, template: JobTemplate, job_id: str | None = None) -> JobInfo:
        launch = self.backend().prepare(template)
        self.count += 1
        job = JobInfo(
            id=job_id or str(self.count),
            session="tests",
            backend="docker",
            template=template,
            submission_time=time.time(),
        )
        launch.bind(job)
        return launch.start(job) or job

    def run(self, *argv: str, **fields: Any) -> JobInfo:
        return self.submit(self.template(*argv, **fields))

    def refresh(self, job: JobInfo) -> JobInfo:
        changed = self.backend().refresh([job])
        return changed[0] if changed else job

    def finish(self, job: JobInfo, timeout: float = 60) -> JobInfo:
        """Wait (woken by the engine) until the job is final; fails the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not job.state.final:
            left = deadline - time.monotonic()
            assert left > 0, f"job {job.id} did not end: {job}"
            backend = self.backend()
            backend.wait_any([job], left)
            job = self.refresh(job)
        return job

    def until(self, job: JobInfo, check: Callable[[JobInfo], bool], timeout: float = 30) -> JobInfo:
        """Refresh until ``check(job)`` holds (for states no event announces: running, suspended)."""
        deadline = time.monotonic() + timeout
        while not check(job):
            assert time.monotonic() < deadline, f"job {job.id} never reached the expected state: {job}"
            time.sleep(0.05)
            job = self.refresh(job)
        return job

    def containers(self) -> list[dict[str, Any]]:
        return self.engine.containers(f"drmaa2.instance={self.instance}")


@pytest.fixture
def jobs(docker_engine: EngineUnderTest, tmp_path: Path) -> Iterator[Jobs]:
    home = tmp_path / "home"
    home.mkdir()
    helper = Jobs(home, uuid.uuid4().hex[:10], engine_name=docker_engine.name)
    yield helper
    for container in helper.containers():
        helper.engine.remove(container["Id"])


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reach the engine through the docker SDK, as for TLS and ssh:// engines (the socket is the same)."""
    monkeypatch.setattr(engine_module, "needs_sdk", lambda address, environ: True)

"""The drmaa2 CLI on the docker backend, as a user runs it: a real subprocess, bytes in and out, and the
containers of its drmaa2 home removed when the test ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends.docker.engine import Engine
from drmaa2cli.store import Store
from tests.conftest import Cli
from tests.docker.fixtures import EngineUnderTest


@dataclass
class Ran:
    code: int
    out: bytes
    err: bytes


class DockerCli:
    """``drmaa2 ARGS`` with ``--backend docker --image IMAGE`` added to submit and run."""

    def __init__(self, cli: Cli, image: str) -> None:
        self.cli = cli
        self.home = cli.home
        self.image = image
        self.engine = Engine(dict(os.environ))

    def __call__(self, *args: str, timeout: float = 120) -> Ran:
        proc = subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=self.cli.env,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return Ran(proc.returncode, proc.stdout, proc.stderr)

    def submit(self, *command: str, options: Sequence[str] = (), backend: str = "docker") -> str:
        """The new job's id; ``backend`` "process" submits the same job there, for comparison."""
        target = ["--backend", "docker", "--image", self.image] if backend == "docker" else ["--backend", backend]
        r = self("submit", "--terse", *target, *options, "--", *command)
        assert r.code == 0, r.err
        return r.out.decode().strip()

    def info(self, job_id: str) -> dict[str, Any]:
        return self.cli.info(job_id)

    def wait(self, job_id: str, timeout: float = 90) -> int:
        """``drmaa2 wait``'s exit code (the job's own), failing the test if the job is still active at
        ``timeout``."""
        r = self("wait", "--timeout", f"{timeout:g}s", job_id, timeout=timeout + 60)
        assert r.code != 124, f"job {job_id} did not end within {timeout:g}s"
        return r.code

    def until_running(self, job_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.info(job_id)["state"] != "running":
            assert time.monotonic() < deadline, f"job {job_id} never ran: {self.info(job_id)}"
            time.sleep(0.1)

    def containers(self) -> list[dict[str, Any]]:
        if not (self.home / "jobs.json").exists():
            return []
        return self.engine.containers(f"drmaa2.instance={Store(self.home).instance()}")


@pytest.fixture
def docker_cli(cli: Cli, docker_engine: EngineUnderTest) -> Iterator[DockerCli]:
    helper = DockerCli(cli, docker_engine.image)
    yield helper
    for container in helper.containers():
        helper.engine.remove(container["Id"])


def job_files(home: Path) -> list[Path]:
    return sorted((home / "output").iterdir()) if (home / "output").exists() else []

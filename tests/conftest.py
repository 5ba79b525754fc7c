"""Shared fixtures: a private DRMAA2_HOME per test and the CLI run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Each backend's fixtures (engines, schedulers, stand-ins) and its `<name>_target` for the shared suite.
pytest_plugins = [
    "tests.cf.fixtures",
    "tests.docker.fixtures",
    "tests.gridengine.fixtures",
    "tests.slurm.fixtures",
]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs `python -m drmaa2cli ARGS` with this test's environment."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
                 input: str | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "drmaa2cli", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def submit(self, *command: str, options: Sequence[str] = ()) -> str:
        r = self("submit", "--terse", *options, "--", *command)
        assert r.code == 0, r.err
        return r.out.strip()

    def info(self, job_id: str) -> dict[str, Any]:
        r = self("status", "--json", job_id)
        assert r.code == 0, r.err
        jobs: list[dict[str, Any]] = r.json()["jobs"]
        assert len(jobs) == 1
        return jobs[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
    env["DRMAA2_HOME"] = str(home)
    return Cli(home, env)


@pytest.fixture
def make_cli(tmp_path: Path) -> Callable[[str], Cli]:
    def make(name: str) -> Cli:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
        env["DRMAA2_HOME"] = str(tmp_path / name)
        return Cli(tmp_path / name, env)

    return make

"""Fixtures for the Slurm tests: a real one-node cluster (tests/infra/slurm.sh), a backend on it, and the
``slurm_target`` description for the shared CLI contract suite. A pytest plugin: list ``tests.slurm.fixtures``
in ``pytest_plugins`` to use them outside this directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.sched.slurm import SlurmBackend
from tests.slurm.sched_driver import Driver, start_cluster


@pytest.fixture(scope="session")
def slurm_env() -> dict[str, str]:
    """The client environment of a running Slurm cluster (started if needed; skip or, with CI=true, fail
    when it cannot start)."""
    return start_cluster("slurm.sh")


@pytest.fixture(scope="session")
def slurm_target(slurm_env: dict[str, str]) -> dict[str, Any]:
    """How the CLI contract suite reaches this backend."""
    return {"options": ["--backend", "slurm"], "env": dict(slurm_env)}


@pytest.fixture
def slurm(slurm_env: dict[str, str], tmp_path: Path) -> Iterator[Driver]:
    ctx = BackendContext(home=tmp_path / "home", instance="test", environ={**os.environ, **slurm_env})
    driver = Driver(SlurmBackend(ctx))
    yield driver
    driver.cleanup()

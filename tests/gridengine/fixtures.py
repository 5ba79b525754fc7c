"""Fixtures for the Grid Engine tests: a real one-host cell (tests/infra/gridengine.sh), a backend on it, and
the ``gridengine_target`` description for the shared CLI contract suite. A pytest plugin: list
``tests.gridengine.fixtures`` in ``pytest_plugins`` to use them outside this directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.sched.gridengine import GridEngineBackend
from tests.slurm.sched_driver import Driver, start_cluster


@pytest.fixture(scope="session")
def gridengine_env() -> dict[str, str]:
    """The client environment of a running Grid Engine cell (started if needed; skip or, with CI=true,
    fail when it cannot start)."""
    return start_cluster("gridengine.sh")


@pytest.fixture(scope="session")
def gridengine_target(gridengine_env: dict[str, str]) -> dict[str, Any]:
    """How the CLI contract suite reaches this backend."""
    return {"options": ["--backend", "gridengine"], "env": dict(gridengine_env)}


@pytest.fixture
def gridengine(gridengine_env: dict[str, str], tmp_path: Path) -> Iterator[Driver]:
    ctx = BackendContext(home=tmp_path / "home", instance="test", environ={**os.environ, **gridengine_env})
    driver = Driver(GridEngineBackend(ctx))
    yield driver
    driver.cleanup()

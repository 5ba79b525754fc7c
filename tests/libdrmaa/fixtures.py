"""Fixtures for the libdrmaa backend: Grid Engine's DRMAA v1 library on the real one-host cell
(tests/infra/libdrmaa.sh) and the ``libdrmaa_target`` description for the shared CLI contract suite. A pytest
plugin, listed in tests/conftest.py."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tests.requires import unavailable
from tests.slurm.sched_driver import start_cluster


@pytest.fixture(scope="session")
def libdrmaa_env() -> dict[str, str]:
    """SGE_ROOT, SGE_CELL and DRMAA_LIBRARY_PATH of a running cell with its DRMAA library (started and
    installed if needed; skip or, with CI=true, fail when it cannot be)."""
    if importlib.util.find_spec("drmaa") is None:
        unavailable("the drmaa package is not installed (pip install -e '.[test]')")
    return start_cluster("libdrmaa.sh")


@pytest.fixture(scope="session")
def libdrmaa_target(libdrmaa_env: dict[str, str]) -> dict[str, Any]:
    """How the CLI contract suite reaches this backend."""
    return {"options": ["--backend", "libdrmaa"], "env": dict(libdrmaa_env)}

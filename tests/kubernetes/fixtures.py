"""Fixtures for the kubernetes backend's tests, on a real one-node cluster (tests/infra/kubernetes.sh builds it
once per machine and starts it). A pytest plugin, so that the shared CLI contract suite can take
``kubernetes_target``. Without a cluster the tests are skipped, with the reason; with CI=true they fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.requires import unavailable

IMAGE = "drmaa2-test/busybox:1"
SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "kubernetes.sh"
#: A cold start builds the binaries first (about 4 minutes on two idle cores, more on a busy machine).
START_SECONDS = 2400


def cluster_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=START_SECONDS)


@pytest.fixture(scope="session")
def kubernetes_env() -> dict[str, str]:
    """The client environment (KUBECONFIG) of a running cluster, started when it does not answer."""
    if os.geteuid() != 0:
        unavailable("the Kubernetes test cluster needs root (daemons, mounts, packages)")
    try:
        run = cluster_script()
    except subprocess.TimeoutExpired:
        unavailable(f"{SCRIPT.name} did not finish within {START_SECONDS} s")
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        unavailable(f"no Kubernetes cluster for the tests: {lines[-1] if lines else f'exit {run.returncode}'}")
    env = {}
    for line in run.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        if key:
            env[key] = value
    return env


@pytest.fixture(scope="session")
def kubernetes_target(kubernetes_env: dict[str, str]) -> dict[str, Any]:
    """How the CLI contract suite runs its jobs on this backend."""
    return {"options": ["--backend", "kubernetes", "--image", IMAGE], "env": dict(kubernetes_env)}


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The cluster's own kubectl (built with it), for the tests' view of the cluster."""
    binary = "/var/cache/drmaa2-test/kubernetes/bin/kubectl"
    cache = os.environ.get("DRMAA2_K8S_CACHE")
    if cache:
        binary = f"{cache}/bin/kubectl"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})

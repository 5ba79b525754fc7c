"""The Docker engine stopped during a `wait` and started again: the wait rides it out and ends with the job's
result instead of failing or hanging."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..conftest import Cli

ROOT = Path(__file__).resolve().parent.parent.parent


def dockerd_pids() -> list[str]:
    return subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()


def test_wait_survives_an_engine_restart(cli: Cli, docker_target: dict[str, Any]) -> None:
    env = docker_target["env"]
    r = cli("submit", "--terse", *docker_target["options"], "--", "sh", "-c", "sleep 2; exit 3", env=env)
    assert r.code == 0, r.err
    job = r.out.strip()
    waiter = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "wait", job], env={**cli.env, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=True)
    deadline = time.monotonic() + 60
    while dockerd_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not dockerd_pids(), "dockerd did not stop"
    time.sleep(1)
    assert waiter.poll() is None, "wait gave up while the engine was down: " + waiter.stderr.read()  # type: ignore[union-attr]
    subprocess.run(["bash", str(ROOT / "tests" / "infra" / "docker-engine.sh")], check=True, timeout=300)
    _, err = waiter.communicate(timeout=120)
    # The engine stopped the container on its way down (SIGTERM: 143) unless the job had finished (3).
    assert waiter.returncode in (3, 143, 137), (waiter.returncode, err)
    assert "still waiting" in err and len(err.splitlines()) <= 4  # said once per distinct error, not per retry
    info = cli("status", "--json", job, env=env).json()["jobs"][0]
    assert info["state"] == "failed" and info["exit_code"] == waiter.returncode

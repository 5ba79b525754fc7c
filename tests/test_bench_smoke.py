"""The benchmark suite runs end to end (one repetition, tiny sizes), so that it cannot rot. Nothing about time is
asserted: only that every target of both rounds ran and reported beside every peer (task-spooler, and the test
suite's own Slurm and Grid Engine clusters, Docker engine, Podman service, DRMAA library and Kubernetes cluster,
which the fixtures start; task-spooler is installed by ``bench/setup-peers`` when missing), and that no job was
lost or duplicated under concurrent submitters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.requires import unavailable

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def task_spooler() -> None:
    """Install task-spooler (the peer ``tsp``) when it is missing, the way ``bench/run`` does."""
    try:
        proc = subprocess.run([str(ROOT / "bench" / "setup-peers"), "task-spooler"], capture_output=True,
                              text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        unavailable(f"bench/setup-peers task-spooler could not run: {e}")
    if proc.returncode != 0:
        unavailable(f"bench/setup-peers could not install task-spooler: {proc.stderr.strip()[-2000:]}")


TARGETS = [*range(1, 21), 23]


def test_benchmark_smoke_run(tmp_path: Path, task_spooler: None, dockerd: str, slurm_env: dict[str, str],
                             gridengine_env: dict[str, str], podman_env: dict[str, str],
                             libdrmaa_env: dict[str, str], kubernetes_env: dict[str, str]) -> None:
    env = {**os.environ, **slurm_env, **gridengine_env, **podman_env, **libdrmaa_env, **kubernetes_env}
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path),
                           "--docker-image", dockerd], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "latest.json").read_text())
    results = {r["number"]: r for r in doc["results"]}
    assert sorted(results) == TARGETS
    errors = {n: r["note"] for n, r in results.items() if r["verdict"] == "error"}
    assert not errors, proc.stderr[-3000:]
    for number in TARGETS:
        assert results[number]["measured"] != "–", results[number]
    # Every peer's rows hold figures: none was left out, none failed.
    rows = [row for r in results.values() for row in r["rows"]]
    for peer in ("`tsp", "(Slurm)", "(Grid Engine)", "`docker run", "`kubectl create", "`podman --remote run"):
        mine = [row for row in rows if peer in row["label"]]
        assert mine and all(row["wall_ms"] is not None or row.get("value") for row in mine), (peer, mine)
    floor = results[1]["rows"][0]
    assert "python -c pass" in floor["label"] and floor["wall_ms"]["median"] > 0
    submit = results[1]["rows"][1]
    assert submit["wall_ms"] is not None and submit["cpu_ms"]["median"] > 0, submit
    for number in (8, 11):
        flood = results[number]["rows"][0]["data"]
        assert flood["lost"] == 0 and flood["duplicates"] == 0 and flood["failed"] == 0
    # Each new backend was measured beside its tool: none reported as not available (the smoke run's ratios
    # mean nothing, so "not met" is as good an answer here as "met").
    assert results[15]["verdict"] in ("met", "not met"), results[15]
    assert all(f"{b} " in results[15]["measured"] for b in ("kubernetes", "podman", "libdrmaa")), results[15]
    assert "--backend libdrmaa" in " ".join(row["label"] for row in results[15]["rows"])
    peers = {p["name"]: p for p in doc["peers"]}
    assert {"task-spooler", "Slurm", "Grid Engine", "docker", "kubernetes", "podman", "libdrmaa"} <= set(peers)
    assert all(p["available"] for p in peers.values()), peers
    text = (tmp_path / "latest.md").read_text()
    assert "| # | what | target | measured (median) | verdict |" in text
    assert all(f"| {n} |" in text for n in TARGETS)
    assert "**First round" in text and "**Second round" in text
    assert doc["machine"]["cores"] and doc["machine"]["python"]

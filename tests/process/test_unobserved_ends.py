"""The store and the process backend together: jobs that ended while nobody asked drmaa2 about them are
found ended, recorded and archived by the next submit, which reads only this machine's files to do it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tinydb import TinyDB


def test_a_submit_folds_in_jobs_that_ended_unobserved(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}, "DRMAA2_HOME": str(tmp_path)}

    def drmaa2(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    array = drmaa2("submit", "--terse", "--array", "1-100", "--", "true")
    deadline = time.monotonic() + 60
    while len(list((tmp_path / "run").glob("*.exit"))) < 100 and time.monotonic() < deadline:
        time.sleep(0.1)  # nobody asks drmaa2: the store still says the tasks are queued
    live = json.loads((tmp_path / "jobs.json").read_text())["jobs"].values()
    assert sum(r["state"] == "queued" for r in live) == 100
    drmaa2("submit", "true")
    live = json.loads((tmp_path / "jobs.json").read_text())["jobs"].values()
    assert len(live) == 100 - 32 + 1  # the 32 oldest were found ended, recorded and archived
    with TinyDB(tmp_path / "archive" / "000000.json") as db:
        assert sorted(d["id"] for d in db.table("jobs").all()) == sorted(f"{array}.{i}" for i in range(1, 33))
        assert {d["state"] for d in db.table("jobs").all()} == {"done"}
    jobs = json.loads(drmaa2("status", "--json", array))["jobs"]
    assert len(jobs) == 100 and {j["state"] for j in jobs} == {"done"}

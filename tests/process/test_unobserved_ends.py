"""The store and the process backend together: jobs that ended while nobody asked drmaa2 about them are
found ended, recorded and archived by the next submit, which reads only this machine's files to do it; an
array's tasks, in a file of their own, are not read by that submit at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tinydb import TinyDB

from drmaa2cli.backends.process import journal

# The singles submitted in one process (through the library: a hundred CLI runs would cost seconds), which
# folds nothing in itself: the CLI's submit after them is the one under test.
_SUBMIT = """
import sys
from drmaa2cli import config
from drmaa2cli.core import submission
submission.FOLD_ABOVE = 10 ** 9
from drmaa2cli.models import JobTemplate
from drmaa2cli.service import Service
svc = Service(config.resolve(environ={"DRMAA2_HOME": sys.argv[1]}))
print(" ".join(svc.submit(JobTemplate(remote_command="true")).id for _ in range(int(sys.argv[2]))))
"""


def test_a_submit_folds_in_jobs_that_ended_unobserved(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}, "DRMAA2_HOME": str(tmp_path)}

    def drmaa2(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    array = drmaa2("submit", "--terse", "--array", "1-100", "--", "true")
    singles = subprocess.run([sys.executable, "-c", _SUBMIT, str(tmp_path), "100"], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
    deadline = time.monotonic() + 60

    def ended() -> int:  # the singles' exit files, and the array's exit records in its journal
        journals = [journal.read(str(path)) or {} for path in (tmp_path / "run").glob("*.journal")]
        records = [r for records_of_one in journals for r in records_of_one.values()]
        return len(list((tmp_path / "run").glob("*.exit"))) + sum(r[1] is not None for r in records)

    while ended() < 200 and time.monotonic() < deadline:
        time.sleep(0.1)  # nobody asks drmaa2: the store still says the jobs are queued
    live = json.loads((tmp_path / "jobs.json").read_text())["jobs"].values()
    assert sum(r["state"] == "queued" for r in live) == 100 and len(live) == 100
    array_file = tmp_path / "arrays" / f"{array}.json"
    before = array_file.stat()
    drmaa2("submit", "true")
    live = json.loads((tmp_path / "jobs.json").read_text())["jobs"].values()
    assert len(live) == 100 - 32 + 1  # the 32 oldest were found ended, recorded and archived
    with TinyDB(tmp_path / "archive" / "000000.json") as db:
        assert sorted(d["id"] for d in db.table("jobs").all()) == sorted(singles[:32])
        assert {d["state"] for d in db.table("jobs").all()} == {"done"}
    after = array_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # the array was not read
    jobs = json.loads(drmaa2("status", "--json", array))["jobs"]
    assert len(jobs) == 100 and {j["state"] for j in jobs} == {"done"}
    meta = json.loads((tmp_path / "jobs.json").read_text())["_meta"]["1"]
    assert meta["arrays"] == [] and meta["archived"]["default"]["done"] == 32 + 100  # the array ended

"""Waiting on many jobs at once: bounded file descriptors, every job accounted for, --any still prompt."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from drmaa2cli.models import JobState
from drmaa2cli.store import Store
from tests.conftest import Cli, gate


def _few_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))


def test_wait_on_an_array_of_running_tasks_under_a_low_file_limit(cli: Cli) -> None:
    array = cli.submit("sleep", "1", options=["--array", "1-60%0"])  # all at once
    r = subprocess.run([sys.executable, "-m", "drmaa2cli", "wait", array], env=cli.env, capture_output=True,
                       text=True, timeout=120, preexec_fn=_few_files)
    assert r.returncode == 0, r.stderr
    jobs = cli("status", "--json", array).json()["jobs"]
    assert len(jobs) == 60 and all(j["state"] == "done" for j in jobs)


def test_wait_any_on_many_jobs_returns_when_the_first_ends(cli: Cli) -> None:
    slow = [cli.submit("sleep", "300") for _ in range(20)]  # 21 submits may take long on a busy machine
    fast = cli.submit("sh", "-c", "sleep 0.5; exit 4")
    try:
        r = cli("wait", "--any", *slow, fast, timeout=120)
        assert r.code == 4 and r.out.strip() == fast, (r.code, r.out, r.err)
    finally:
        cli("kill", "--signal", "KILL", *slow)


def test_wait_sees_an_end_another_process_recorded(cli: Cli, tmp_path: Path) -> None:
    """A scheduler that has forgotten a job before writing its accounting leaves `wait`'s own look at the
    platform without news; an end another drmaa2 process recorded meanwhile (a runner deciding a dependency)
    must end the wait all the same. Here the job really runs on until the test lets it end: only its record
    says it failed."""
    job = cli.submit("sh", "-c", gate(tmp_path / "gate"))
    waiter = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "wait", job], env=cli.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        cli.until_state(job, "running")
        with Store(cli.home).transaction() as txn:
            found = txn.find(job)
            assert found is not None
            txn.put(found.evolve(state=JobState.FAILED, exit_status=4, annotation="recorded elsewhere"))
        _, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 4, err
        assert cli.info(job)["state"] == "failed"
    finally:
        waiter.kill()
        (tmp_path / "gate").touch()


def test_wait_json_says_whose_exit_code_it_is(cli: Cli, tmp_path: Path) -> None:
    """A job's own 124 and `--timeout`'s 124 exit alike; the JSON tells them apart (and 207 from a job's 207)."""
    own = cli.submit("sh", "-c", "exit 124")
    r = cli("wait", "--json", own, timeout=60)
    assert r.code == 124 and (r.json()["exit_code"], r.json()["exit_code_from"]) == (124, "job"), r.err
    held = cli.submit("true", options=["--hold"])
    r = cli("wait", "--json", "--timeout", "0.5s", held, timeout=60)
    doc = r.json()
    assert r.code == 124 and (doc["exit_code"], doc["exit_code_from"]) == (124, "drmaa2"), r.err
    assert [j["state"] for j in doc["jobs"]] == ["queued_held"] and "timed out" in r.err
    cli("kill", held)
    r = cli("wait", "--json", held, timeout=60)
    doc = r.json()
    assert r.code == 207 and (doc["exit_code"], doc["exit_code_from"]) == (207, "drmaa2"), (r.code, r.err)
    assert doc["jobs"][0]["exit_code"] is None and doc["jobs"][0]["exit_code_from"] == "drmaa2"

"""What only the libdrmaa backend does, on Grid Engine's DRMAA v1 library and the real one-host cell (the shared
behaviour is in tests/conformance), and its pure mapping of templates and results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drmaa2cli.backends.libdrmaa import mapping
from drmaa2cli.backends.sched import common
from drmaa2cli.models import ArraySpec, JobInfo, JobState, JobTemplate
from tests.conftest import Cli


def job() -> JobInfo:
    return JobInfo(id="7", session="s", backend="libdrmaa", submission_time=100.0)


def test_results_of_wait_become_the_jobs_fields() -> None:
    usage = {"start_time": "101.0000", "end_time": "104.0000", "cpu": "0.5000", "ru_maxrss": "4572.0000"}
    done = mapping.apply_result(job(), {"exited": True, "exit_status": 0, "usage": usage})
    assert (done.state, done.exit_status, done.signal, done.annotation) == (JobState.DONE, 0, None, None)
    assert (done.dispatch_time, done.finish_time, done.cpu_time, done.max_rss) == (101.0, 104.0, 0.5, 4572)
    failed = mapping.apply_result(job(), {"exited": True, "exit_status": 3, "usage": usage})
    assert (failed.state, failed.exit_status, failed.annotation) == (JobState.FAILED, 3, "exited with status 3")
    killed = mapping.apply_result(job(), {"signaled": True, "signal": "SIGKILL", "usage": usage})
    assert (killed.state, killed.exit_status, killed.signal) == (JobState.FAILED, None, 9)
    # Deleted by the scheduler while it ran: DRMAA says only "aborted"; the usage has 128+N.
    deleted = mapping.apply_result(job(), {"aborted": True, "usage": {**usage, "exit_status": "137.0000"}})
    assert (deleted.state, deleted.signal) == (JobState.FAILED, 9)
    never = mapping.apply_result(job(), {"aborted": True, "usage": {}, "at": 102.0})
    assert (never.state, never.exit_status, never.signal) == (JobState.FAILED, None, None)
    assert never.dispatch_time is None
    assert never.annotation == "deleted before it ran"
    lost = mapping.apply_result(job(), {"lost": "done", "at": 102.0})
    assert lost.state is JobState.FAILED and lost.annotation.startswith(mapping.LOST)


def test_orders_name_the_task_index_as_drmaa_does() -> None:
    template = JobTemplate(remote_command="/bin/echo", args=["a b"], extension={"native": ["-l", "h_rt=60"]})
    paths = common.Paths("/w", f"/w/out.{common.TASK_MARK}", None)
    orders = mapping.orders(template, paths, "/h/run/libdrmaa/5.sh", ArraySpec(1, 3, 1, 2), ["5.1"], "/h/run")
    assert orders["output"] == "/w/out.$drmaa_incr_ph$" and orders["error"] is None
    assert (orders["command"], orders["args"], orders["name"]) == ("/bin/sh", ["/h/run/libdrmaa/5.sh"], "echo")
    assert (orders["bulk"], orders["max_parallel"], orders["native"]) == ([1, 3, 1], 2, ["-l", "h_rt=60"])
    assert mapping.state_of("user_on_hold") is JobState.QUEUED_HELD and mapping.state_of("done") is None


def test_the_library_is_loaded_only_by_the_agent() -> None:
    code = ("import sys, drmaa2cli.cli.app; from drmaa2cli.backends import backend_class; "
            "backend_class('libdrmaa'); assert 'drmaa' not in sys.modules and 'ctypes' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.fixture
def grid(cli: Cli, libdrmaa_env: dict[str, str]) -> Cli:
    cli.env.update(libdrmaa_env)
    return cli


def test_submit_wait_exits_with_the_jobs_status(grid: Cli) -> None:
    r = grid("submit", "--backend", "libdrmaa", "--wait", "--", "sh", "-c", "exit 3", timeout=120)
    assert r.code == 3, r.err
    (info,) = grid("status", "--json", "--all").json()["jobs"]
    assert (info["backend"], info["state"], info["exit_status"]) == ("libdrmaa", "failed", 3)
    assert info["native_id"].isdigit() and info["max_rss"] is not None


def test_a_job_whose_keeper_died_ends_without_an_exit_status(grid: Cli, tmp_path: Path) -> None:
    """What a user cannot do: learn how a job ended that ended while its keeper was gone (killed, the machine
    restarted) — DRMAA v1 keeps that only for a session open at the time."""
    go = tmp_path / "go"
    r = grid("submit", "--terse", "--backend", "libdrmaa", "--", "sh", "-c",
             'while [ ! -e "$0" ]; do sleep 0.2; done; exit 3', str(go))
    assert r.code == 0, r.err
    job_id = r.out.strip()
    record = grid("status", "--json", job_id).json()["jobs"][0]
    assert record["native_id"]
    keeper = _keeper(grid, job_id)
    os.kill(keeper, signal.SIGKILL)
    go.touch()
    deadline = time.monotonic() + 120
    while (info := grid("status", "--json", job_id).json()["jobs"][0])["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, info
        time.sleep(0.5)
    assert (info["state"], info["exit_status"]) == ("failed", None), info
    assert info["annotation"].startswith(mapping.LOST), info


def _keeper(cli: Cli, job_id: str) -> int:
    from drmaa2cli.store import Store

    pid: int = Store(cli.home).snapshot().get(job_id).backend_data["keeper"]["pid"]
    return pid


def test_kill_of_an_array_running_and_queued(grid: Cli, tmp_path: Path) -> None:
    """One kill for a whole array: the running task gets its watcher's SIGTERM, the queued ones (the throttle
    holds them back) are deleted before they start; a few library calls for all of them."""
    r = grid("submit", "--terse", "--backend", "libdrmaa", "--array", "1-3%1", "--", "sh", "-c",
             'echo ready; while [ ! -e "$0" ]; do sleep 0.2; done', str(tmp_path / "never"))
    assert r.code == 0, r.err
    array = r.out.strip()
    deadline = time.monotonic() + 120
    while grid("status", "--json", f"{array}.1").json()["jobs"][0]["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert grid("kill", array).code == 0
    assert grid("wait", "--timeout", "120", array, timeout=180).code != 0
    tasks = {j["id"]: j for j in grid("status", "--json", array).json()["jobs"]}
    assert (tasks[f"{array}.1"]["state"], tasks[f"{array}.1"]["signal"]) == ("failed", 15), tasks
    for index in (2, 3):
        task = tasks[f"{array}.{index}"]
        assert task["state"] == "failed" and task["annotation"] == "killed by drmaa2 kill before it started", task


def test_queue_is_a_local_one_or_the_schedulers(grid: Cli, tmp_path: Path) -> None:
    """``--queue NAME``: the config's local queue of that name, else Grid Engine's (``-q``); a queue the scheduler
    rejects is refused as the gridengine backend refuses it (201, one line) and leaves no record."""
    for options in (["--native", "-q no-such.q"], ["--queue", "no-such.q"]):
        r = grid("submit", "--backend", "libdrmaa", *options, "--", "true", timeout=120)
        assert r.code == 201 and r.err.count("\n") == 1 and "no-such.q" in r.err, r
    assert grid("status", "--json", "--all").json()["jobs"] == []
    out = tmp_path / "queue.out"
    r = grid("submit", "--backend", "libdrmaa", "--wait", "--queue", "all.q", "-o", str(out), "--", "sh", "-c",
             'echo "$QUEUE"', timeout=120)
    assert r.code == 0 and out.read_text() == "all.q\n", (r, out.read_text())
    grid.home.mkdir(exist_ok=True)
    # A local queue of the name Grid Engine rejected: drmaa2 keeps its slots, the scheduler never hears the name.
    (grid.home / "config.toml").write_text('[queues."no-such.q"]\nslots = 1\n')
    r = grid("submit", "--backend", "libdrmaa", "--wait", "--terse", "--queue", "no-such.q", "--", "true",
             timeout=120)
    assert r.code == 0, r.err
    assert grid("status", "--json", r.out.strip().splitlines()[0]).json()["jobs"][0]["queue"] == "no-such.q"


def test_mail_is_grid_engines_own() -> None:
    """``--mail-type``/``--mail-user`` reach Grid Engine as qsub's ``-m``/``-M`` through the keeper's orders, and
    no watcher of drmaa2's mails as well (never two mails for one event)."""
    from drmaa2cli.backends.libdrmaa.backend import LibDrmaaBackend
    from drmaa2cli.notify.orders import watcher_orders

    template = JobTemplate(remote_command="true", mail_types=["END", "FAIL"], email=["a@b"])
    orders = mapping.orders(template, common.Paths("/w", "/w/o", None), "/s.sh", None, ["1"], "/r")
    assert orders["mail"] == ["-m", "ea", "-M", "a@b"] and orders["native"] == []
    assert watcher_orders(template, LibDrmaaBackend, Path("/h")) is None
    assert mapping.orders(JobTemplate(remote_command="true"), common.Paths("/w", "/w/o", None), "/s.sh", None,
                          ["1"], "/r")["mail"] == []


def test_grid_engine_mails_at_the_end(grid: Cli) -> None:
    from tests.mailbox import MAIL_USER, mail_with, mailbox

    box = mailbox()
    name = f"m{os.urandom(5).hex()}"
    r = grid("submit", "--backend", "libdrmaa", "--wait", "--name", name, "--mail-type", "END", "--mail-user",
             MAIL_USER, "--", "true", timeout=180)
    assert r.code == 0, r.err
    mail = mail_with(box, name)
    assert "drmaa2 job" not in mail  # Grid Engine's mail, not one drmaa2 sent


def test_a_script_keeps_grid_engines_default_file_names(grid: Cli, tmp_path: Path) -> None:
    """A qsub script with no -o: Grid Engine's own NAME.oID / NAME.eID (.TASK for an array) with its own id,
    0600, and the record knows them (``logs``)."""
    (tmp_path / "job.sh").write_text("#!/bin/sh\n#$ -N own\n#$ -cwd\n#$ -t 1-2\necho out $SGE_TASK_ID\n"
                                     "echo err >&2\n")
    r = grid("submit", "--terse", "--backend", "libdrmaa", "--wait", "job.sh", cwd=tmp_path, timeout=180)
    assert r.code == 0, r.err
    array = r.out.strip()
    tasks = grid("status", "--json", array).json()["jobs"]
    for task in tasks:
        native, index = task["native_id"], task["id"].split(".")[1]
        assert native.endswith(f".{index}") and native.split(".")[0].isdigit(), task
        out, err = tmp_path / f"own.o{native}", tmp_path / f"own.e{native}"
        assert (task["output_path"], task["error_path"]) == (str(out), str(err))
        assert out.read_text() == f"out {index}\n" and err.read_text() == "err\n"
        assert {os.stat(out).st_mode & 0o777, os.stat(err).st_mode & 0o777} == {0o600}
        assert grid("logs", task["id"]).out == f"out {index}\n"

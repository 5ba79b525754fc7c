"""Ctrl-C on `submit --wait` says what happened: it stops the job as `run` does, or with
--detach-on-interrupt leaves it running and says so."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.conftest import Cli


def _submit_wait(cli: Cli, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "drmaa2cli", "submit", "--wait", *options, "--", "sh", "-c",
         'trap "exit 42" TERM; while :; do sleep 0.2; done'],
        env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _running(cli: Cli) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = cli("status", "--json").json()["jobs"]
        if jobs and jobs[0]["state"] == "running":
            return str(jobs[0]["id"])
        time.sleep(0.1)
    raise AssertionError("the job did not start within 30 s")


def _interrupted(cli: Cli, *options: str) -> tuple[int, str, str]:
    """Submit --wait a job that traps TERM, send the submitter SIGINT once the job runs: (exit code, stderr,
    the job's id)."""
    proc = _submit_wait(cli, *options)
    try:
        job = _running(cli)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err, job


def test_ctrl_c_on_submit_wait_stops_the_job(cli: Cli) -> None:
    code, err, job = _interrupted(cli)
    assert code == 130, err
    assert f"interrupted: stopping job {job}" in err and err.splitlines()[-1] == f"drmaa2: stopped job {job}"
    info = cli("status", "--json", job).json()["jobs"][0]
    assert info["state"] == "failed" and info["exit_status"] == 42, info


def test_ctrl_c_with_detach_on_interrupt_leaves_the_job_running(cli: Cli) -> None:
    code, err, job = _interrupted(cli, "--detach-on-interrupt")
    assert code == 130, err
    assert err.splitlines()[-1] == (f"drmaa2: interrupted: job {job} goes on (--detach-on-interrupt); "
                                   f"`drmaa2 wait {job}` waits for it"), err
    assert cli("status", "--json", job).json()["jobs"][0]["state"] == "running"
    assert cli("kill", job).code == 0
    assert cli("wait", job).code == 42

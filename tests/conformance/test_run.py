"""`drmaa2 run` from a shell, the same on every backend (contract cases run-stdin, run-interrupt): its standard
input reaches the job, the job's stdout and stderr come back on run's own, and Ctrl-C stops the job."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

from .conftest import DEADLINE, Run, Target, case


def start_run(target: Target, *command: str, stdin: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(target.argv("run", *target.job_options(), "--", *command), env=target.env,
                            cwd=target.cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@case("run-stdin")
def test_run_passes_its_standard_input_and_both_streams(target: Target) -> None:
    data = b"line one\nline two\n\xff\x00 bytes\n"
    proc = start_run(target, "sh", "-c", "cat; echo to-stderr >&2; exit 4", stdin=subprocess.PIPE)
    out, err = proc.communicate(data, timeout=DEADLINE + 60)
    if target.refused("run-stdin") is not None:
        target.check_refusal("run-stdin", Run(proc.returncode, out, err.decode(errors="replace")))
        # without input (a terminal, /dev/null), run works as before
        none = start_run(target, "sh", "-c", "echo ok")
        out, err = none.communicate(timeout=DEADLINE + 60)
        assert (none.returncode, out) == (0, b"ok\n"), err
        return
    assert proc.returncode == 4, err
    assert out == data
    assert err.decode().endswith("to-stderr\n"), err
    # no input waiting: the job reads end of file at once
    none = start_run(target, "cat")
    out, err = none.communicate(timeout=DEADLINE + 60)
    assert (none.returncode, out) == (0, b""), err
    made = target.home / "input"
    assert not made.exists() or not list(made.iterdir()), "run removes the input it made for its job"


def interrupted(target: Target, script: str) -> tuple[int, bytes, str]:
    """`run` a job whose first line of output is "started", and send run SIGINT once that line came back
    through it: (run's exit code, what it printed after that line, its stderr)."""
    proc = start_run(target, "sh", "-c", script)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"started\n"  # the job runs (its output came back through run)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err.decode()


@case("run-interrupt")
def test_ctrl_c_stops_the_job_of_run(target: Target) -> None:
    code, _, err = interrupted(target, "echo started; exec sleep 300")
    job = target("status", "--json").json()["jobs"][0]
    assert code == 130, err
    lines = err.splitlines()
    assert lines[0] == f"drmaa2: interrupted: stopping job {job['id']} (as `drmaa2 kill {job['id']}` does)", lines
    assert lines[-1] == f"drmaa2: stopped job {job['id']}", lines
    info = target.info(job["id"])
    assert info["state"] == "failed" and info["exit_code"] in (143, 137), info
    if target.backend == "process":
        assert not _alive(int(info["native_id"])), "the job's process is gone"
    if target.backend == "docker":
        ps = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"id={info['native_id']}"],
                            capture_output=True, text=True, check=True)
        assert ps.stdout.strip() == "", "the container is not running"


@case("run-interrupt")
def test_an_interrupted_run_shows_what_the_job_says_as_it_stops(target: Target) -> None:
    code, out, err = interrupted(target, 'trap "echo got-term; exit 42" TERM; echo started; '
                                         "while :; do sleep 0.2; done")
    assert code == 130, err
    if target.refused("kill") is None:
        assert out == b"got-term\n", (out, err)  # its last words came through run, after the interrupt
    else:  # not told whether SIGKILL came before the trap ran (see the kill case's refusal)
        assert out in (b"", b"got-term\n"), (out, err)
    assert err.splitlines()[-1].startswith("drmaa2: stopped job "), err


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 10  # a killed process may take a moment to be reaped
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.05)
    return True

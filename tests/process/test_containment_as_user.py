"""The process backend as an unprivileged user: no cgroup to be had on cgroup v1, so the shepherd is its jobs'
subreaper. Nothing a job started outlives its end, ``drmaa2 kill`` or Ctrl-C on ``drmaa2 run`` by more than the
grace period plus 2 s; output files are private, accounting is there, limits are refused with the documented
code (README "Containment and accounting")."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import time
from datetime import datetime
from pathlib import Path

from drmaa2cli.backends.process.backend import GRACE_SECONDS

from ..conftest import read_line
from .as_user import User, UserCli, unprivileged, user_cli

__all__ = ["unprivileged", "user_cli"]  # the fixtures, imported for pytest

#: How long past the grace period a leftover may live (the issue's bound).
SLACK = 2.0


def processes_running(token: str) -> list[int]:
    """Processes on this machine whose command line ends with the argument ``token``."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().endswith(f"\0{token}\0".encode()):
                    found.append(int(pid))
    return found


def leaves_children(work: Path, token: str, then: str, deaf: bool = True) -> str:
    """Shell code that leaves children running `sleep TOKEN`: a background one whose parent subshell exits, a
    `setsid` one, a double-forked one in a new session and (``deaf``) a `setsid` shell that ignores SIGTERM,
    waiting on one; it waits until all of them wrote their pid, then runs ``then``."""
    names = "bg sid daemon deaf" if deaf else "bg sid daemon"
    ignores = (f"setsid sh -c \"trap '' TERM; echo \\$\\$ > {work}/deaf; sleep {token}; sleep {token}\" & "
               if deaf else "")
    return (f"(sleep {token} & echo $! > {work}/bg) ; "
            f"setsid sh -c 'echo $$ > {work}/sid; exec sleep {token}' & "
            f"(setsid sh -c 'sleep {token} & echo $! > {work}/daemon' &) ; {ignores}"
            f"i=0; for f in {names}; do while [ ! -s {work}/$f ]; do sleep 0.05; i=$((i+1)); "
            f"[ $i -lt 1200 ] || exit 9; done; done; {then}")


def token() -> str:
    return str(6_000_000 + (time.time_ns() // 1000 + os.getpid()) % 1_000_000)


def describe(pid: int) -> str:
    """A leftover process as a failure report names it: its parent and the drmaa2 variables it holds."""
    try:
        parent = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]
        env = [v.decode(errors="replace") for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
               if v.startswith(b"DRMAA2_")]
    except OSError as e:
        return f"{pid}: {e}"
    return f"{pid} (parent {parent}, {' '.join(env) or 'no DRMAA2_ variables'})"


def gone_within(tok: str, since: float, what: str) -> float:
    """Wait until no process runs ``sleep TOK``; fail (killing them) when that takes more than the grace period
    plus SLACK after ``since`` (time.time()). Returns how long after ``since`` they were gone."""
    deadline = since + GRACE_SECONDS + SLACK
    while pids := processes_running(tok):
        if time.time() > deadline:
            seen = "; ".join(describe(pid) for pid in pids)  # before the kill: what they were, for the report
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"{len(pids)} child(ren) outlived the job's {what} by more than "
                                 f"{GRACE_SECONDS + SLACK:g} s: {seen}")
        time.sleep(0.05)
    return time.time() - since


def test_the_user_has_no_cgroup_and_jobs_get_the_subreaper(user_cli: UserCli, unprivileged: User) -> None:
    r = user_cli("config", "--json")
    assert r.code == 0, r.err
    containment = r.json()["setup"]["process"]["containment"]
    if unprivileged.prefix:  # created here: cgroup v1 gives it no writable hierarchy (these machines)
        assert containment.startswith("subreaper (cgroup v1 "), containment
    assert not containment.startswith("process group"), containment
    job = user_cli.submit("id", "-u")
    assert user_cli("wait", job).code == 0
    assert user_cli("logs", job).out == f"{unprivileged.uid}\n"


def test_children_do_not_outlive_the_job_s_end(user_cli: UserCli) -> None:
    tok, work = token(), user_cli.home.parent
    job = user_cli.submit("sh", "-c", leaves_children(work, tok, "exit 0"))
    assert user_cli("wait", job).code == 0
    assert all((work / name).read_text().strip() for name in ("bg", "sid", "daemon", "deaf"))  # they ran
    info = user_cli.info(job)
    # The deaf one needs SIGKILL: gone after the grace period, not before it.
    ended = datetime.fromisoformat(info["finish_time"]).timestamp()
    assert gone_within(tok, ended, "end") >= GRACE_SECONDS - 0.5
    assert (info["state"], info["exit_status"]) == ("done", 0)


def test_children_do_not_outlive_kill(user_cli: UserCli) -> None:
    tok, work = token(), user_cli.home.parent
    job = user_cli.submit("sh", "-c", leaves_children(work, tok, f"echo ready; exec sleep {tok}"))
    until_ready = time.monotonic() + 120
    while user_cli("logs", job).out != "ready\n":
        assert time.monotonic() < until_ready, "the job never printed ready"
        time.sleep(0.1)
    sent = time.time()
    assert user_cli("kill", job).code == 0
    assert user_cli("wait", job).code == 143
    gone_within(tok, sent, "kill")
    assert user_cli.info(job)["annotation"] == "killed by drmaa2 kill (SIGTERM)"


def test_children_do_not_outlive_ctrl_c_on_run(user_cli: UserCli) -> None:
    tok, work = token(), user_cli.home.parent
    # No child that ignores SIGTERM here: Ctrl-C ends the job as kill does (the test above covers SIGKILL).
    script = leaves_children(work, tok, f"echo ready; exec sleep {tok}", deaf=False)
    proc = user_cli.popen("run", "--", "sh", "-c", script,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert read_line(proc.stdout) == b"ready\n"
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.decode().splitlines()[-1].startswith("drmaa2: stopped job "), err
    gone_within(tok, sent, "Ctrl-C on run")


def test_outputs_are_private_accounting_is_there_and_limits_are_refused(user_cli: UserCli) -> None:
    work = user_cli.home.parent
    job = user_cli.submit("sh", "-c", "echo out; echo err >&2; dd if=/dev/zero of=/dev/null bs=50M count=20",
                          options=["--output", f"{work}/o.%j", "--error", f"{work}/e.%j"])
    plain = user_cli.submit("true")
    assert user_cli("wait", job, plain).code == 0
    info = user_cli.info(job)
    # wait4's figures: the job's own process and what it waited for (dd held a 50 MiB buffer).
    assert info["cpu_time"] is not None and info["max_rss"] >= 50 * 1024, info
    written = [work / f"o.{job}", work / f"e.{job}", Path(user_cli.info(plain)["output_path"])]
    for path in written:
        st = path.stat()
        assert (oct(stat.S_IMODE(st.st_mode)), st.st_uid) == (oct(0o600), user_cli.user.uid), path
    assert (work / f"o.{job}").read_text() == "out\n"
    r = user_cli("config", "--json")
    if r.json()["setup"]["process"]["containment"].startswith("cgroup"):
        return  # a delegated cgroup v2 subtree: limits hold there (tests/test_process_cgroups.py)
    for option, value in (("--memory", "100m"), ("--cpus", "1")):
        r = user_cli("submit", option, value, "--", "true")
        assert (r.code, r.err.count("\n")) == (201, 1), r.err
        assert r.err.startswith(f"drmaa2: the process backend cannot honour {option} without a cgroup ("), r.err

"""Job control the same on every backend: dependencies, kill, timeout, hold/release, suspend/resume, and control
issued the moment a job was submitted, nothing of a job left running after it (contract cases after, kill, timeout,
hold, suspend, kill-suspended, control-at-once, containment)."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from drmaa2cli import JobSession, JobTemplate
from drmaa2cli.errors import InvalidState
from drmaa2cli.models import JobState

from .conftest import CONTAINERS, Target, case

#: A job that runs until the test creates ``go`` in its directory (at most ~10 minutes, so nothing is left
#: running for long if a test dies), printing "ready" first.
GATED = 'echo ready; i=0; while [ ! -e "$0/go" ] && [ $i -lt 3000 ]; do sleep 0.2; i=$((i+1)); done'
#: How soon a job's children must be gone after it ended or was killed ("within seconds", on a loaded machine).
CONTAINMENT_SECONDS = 30.0
#: How far past its --timeout a job may end (a scheduler polls; the grace after SIGTERM is not counted).
TIMEOUT_TOLERANCE = 20.0


def gated(target: Target) -> tuple[str, ...]:
    return ("sh", "-c", GATED, str(target.workdir))


@case("after")
def test_after_starts_exactly_once(target: Target) -> None:
    count = target.workdir / "count"
    first = target.submit(*gated(target))
    dependent = target.submit("sh", "-c", 'echo started >> "$0"', str(count), options=("--after", first))
    target.until_state(first, "running")
    assert target.info(dependent)["state"] in ("queued", "queued_held")
    assert not count.exists()
    (target.workdir / "go").touch()
    assert target.wait(dependent) == 0
    assert count.read_text() == "started\n"
    # A resubmitting loop would start it again after it ended: look once more after the next job ran.
    assert target("submit", "--wait", *target.job_options(), "--", "true").code == 0
    assert count.read_text() == "started\n"
    failing = target.submit("sh", "-c", "exit 1")
    never = target.submit("sh", "-c", 'echo started >> "$0"', str(count), options=("--after", failing))
    assert target.wait(never) == 207
    info = target.info(never)
    assert info["state"] == "failed" and info["dispatch_time"] is None
    assert f"dependency {failing} failed" in info["annotation"]
    assert count.read_text() == "started\n"


@case("kill")
def test_kill(target: Target) -> None:
    dies = target.submit("sleep", "300")
    ignores = target.submit("sh", "-c", "trap '' TERM; echo ready; sleep 300")
    target.until_state(dies, "running")
    target.until(ignores, lambda jobs: target("logs", ignores).out == b"ready\n", "printed ready")
    assert target("kill", dies, ignores).code == 0
    assert target.wait(dies) == 143
    info = target.info(dies)
    assert (info["state"], info["signal"]) == ("failed", 15)
    assert info["annotation"].startswith("killed by drmaa2 kill (SIGTERM"), info["annotation"]
    code = target.wait(ignores)
    info = target.info(ignores)
    if target.refused("kill") is not None:
        assert info["state"] == "failed" and code in (137, 143), (code, info)
    else:
        assert (code, info["state"], info["signal"]) == (137, "failed", 9), info
        assert info["annotation"].startswith("killed by drmaa2 kill (SIGKILL"), info["annotation"]
    assert target("kill", dies).code == 205


@case("timeout")
def test_timeout(target: Target) -> None:
    if target.refused("timeout") is not None:
        target.check_refusal("timeout", target("submit", *target.job_options(), "--timeout", "3s", "--", "true"))
        return
    job = target.submit("sleep", "300", options=("--timeout", "3s"))
    assert target.wait(job) == 143
    info = target.info(job)
    assert (info["state"], info["signal"]) == ("failed", 15), info
    assert info["annotation"].startswith("timed out"), info["annotation"]
    assert info["wallclock_time"] < 3 + TIMEOUT_TOLERANCE, info


@case("hold")
def test_hold_and_release(target: Target) -> None:
    job = target.submit("true", options=("--hold",))
    assert target.info(job)["state"] == "queued_held"
    assert target("release", job).code == 0
    assert target.wait(job) == 0
    array = target.submit(*gated(target), options=("--array", "1-3%1"))
    target.until(array, lambda t: t[f"{array}.1"]["state"] == "running", "ran task 1")
    assert target("hold", array).code == 0
    tasks = target.tasks(array)
    assert [tasks[f"{array}.{i}"]["state"] for i in (2, 3)] == ["queued_held"] * 2, tasks
    assert target("hold", f"{array}.1").code == 205  # one task named alone that cannot be held
    assert target("release", array).code == 0
    tasks = target.tasks(array)
    assert all(tasks[f"{array}.{i}"]["state"] != "queued_held" for i in (2, 3)), tasks
    (target.workdir / "go").touch()
    assert target.wait(array) == 0


@case("suspend")
def test_suspend_and_resume(target: Target) -> None:
    job = target.submit(*gated(target))
    target.until_state(job, "running")
    if target.refused("suspend") is not None:
        target.check_refusal("suspend", target("suspend", job))
        return
    assert target("suspend", job).code == 0
    target.until_state(job, "suspended")
    assert target("resume", job).code == 0
    target.until_state(job, "running")
    # An array as a whole: its running tasks are suspended, the others skipped (a one-node cluster may run
    # only some of them at once).
    array = target.submit(*gated(target), options=("--array", "1-3"))
    target.until(array, lambda t: any(j["state"] == "running" for j in t.values()), "ran a task")
    running = {i for i, j in target.tasks(array).items() if j["state"] == "running"}
    suspended = target("suspend", array)
    assert suspended.code == 0, suspended.err
    target.until(array, lambda t: all(t[i]["state"] == "suspended" for i in running),
                 f"was suspended (tasks seen running: {sorted(running)}; suspend said {suspended.err!r})")
    assert target("resume", array).code == 0
    target.until(array, lambda t: all(t[i]["state"] == "running" for i in running), "was resumed")
    (target.workdir / "go").touch()
    assert target.wait(job) == 0
    assert target.wait(array) == 0


#: A job that traps SIGTERM, says so and exits with its own code.
TRAPS = "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 1; done"


@case("kill-suspended")
def test_kill_of_a_suspended_job(target: Target) -> None:
    traps = target.submit("sh", "-c", TRAPS)
    target.until(traps, lambda jobs: target("logs", traps).out == b"ready\n", "printed ready")
    if target.refused("kill-suspended") is not None:
        target.check_refusal("kill-suspended", target("suspend", traps))
        return
    plain = target.submit("sleep", "300")
    target.until_state(plain, "running")
    assert target("suspend", traps, plain).code == 0
    target.until(traps, lambda jobs: jobs[traps]["state"] == "suspended", "was suspended")
    target.until_state(plain, "suspended")
    assert target("kill", traps, plain).code == 0
    # Not 137: the stopped job got to act on SIGTERM, it was not SIGKILLed after the grace period.
    assert target.wait(traps) == 42
    info = target.info(traps)
    assert (info["state"], info["exit_status"]) == ("failed", 42), info
    assert target("logs", traps).out == b"ready\ngot-term\n"
    assert target.wait(plain) == 143
    info = target.info(plain)
    assert (info["state"], info["signal"]) == ("failed", 15), info


TRIES = 3


@case("control-at-once")
def test_control_at_once_cli(target: Target) -> None:
    for _ in range(TRIES):
        killed = target.submit("sleep", "300")
        assert target("kill", killed).code == 0
        assert target.wait(killed) in (143, 207)
        info = target.info(killed)
        assert info["state"] == "failed" and info["annotation"].startswith("killed by drmaa2 kill"), info
        held = target.submit("true")
        hold = target("hold", held)
        if hold.code == 0:
            assert target("release", held).code == 0
        else:
            assert hold.code == 205, hold.err  # it had started (or ended) already: nothing to hold
        assert target.wait(held) == 0


@case("control-at-once")
def test_control_at_once_python(target: Target) -> None:
    session = JobSession.open("python", backend=target.backend, environ=target.env)
    category = {"job_category": target.category} if target.category else {}
    mounts = {"stage_in_files": {str(target.workdir): str(target.workdir)}} if target.backend in CONTAINERS else {}
    for _ in range(TRIES):
        job = session.run_job(JobTemplate(remote_command="sleep", args=["300"], **category, **mounts))
        job.terminate()
        info = job.wait_terminated(timeout=120)
        assert info.state is JobState.FAILED and (info.annotation or "").startswith("killed by drmaa2 kill"), info
        job = session.run_job(JobTemplate(remote_command="true", submit_as_hold=True, **category))
        job.release()
        assert job.wait_terminated(timeout=120).state is JobState.DONE
        job = session.run_job(JobTemplate(remote_command="true", **category))
        try:
            job.hold()
        except InvalidState:
            pass  # it had started already: nothing to hold
        else:
            job.release()
        assert job.wait_terminated(timeout=120).state is JobState.DONE
    left = [p.name for p in (target.home / "run").glob("*.ctl.*")] if (target.home / "run").exists() else []
    assert left == [], left
    assert os.path.isdir(target.home)


def test_unknown_job(target: Target) -> None:
    assert target("wait", "424242").code == 202
    assert target("kill", "424242").code == 202
    assert target("status", "4242x").code == 202



def sleepers(token: str) -> list[int]:
    """The processes on this machine running ``sleep TOKEN`` (containers' and scheduled jobs' too: they run
    here)."""
    wanted = f"sleep\0{token}\0".encode()
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read() == wanted:
                        found.append(int(pid))
            except OSError:
                pass
    return found


def leave_children(target: Target, token: str, then: str) -> str:
    """A job that starts a background child and a ``setsid`` child (both ``sleep TOKEN``), waits until both run,
    then does ``then``."""
    w = target.workdir
    return (f"sh -c 'echo $$ > {w}/bg; exec sleep {token}' & "
            f"setsid sh -c 'echo $$ > {w}/sid; exec sleep {token}' & "
            f"i=0; while [ ! -s {w}/bg ] || [ ! -s {w}/sid ]; do sleep 0.05; i=$((i+1)); "
            f"[ $i -lt 2400 ] || exit 9; done; {then}")


def until_gone(target: Target, token: str, after: str) -> None:
    end = time.monotonic() + CONTAINMENT_SECONDS
    while pids := sleepers(token):
        if time.monotonic() > end:
            for pid in pids:  # leave nothing behind, then fail
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"{target.backend}: {len(pids)} child(ren) of the job outlived its {after}")
        time.sleep(0.1)


@case("containment")
def test_children_end_with_the_job_and_with_kill(target: Target) -> None:
    token = str(7_000_000 + (time.time_ns() // 1000 + os.getpid()) % 1_000_000)
    refusal = target.refused("containment")
    job = target.submit("sh", "-c", leave_children(target, token, "exit 0"))
    assert target.wait(job) == 0
    assert (target.workdir / "bg").exists() and (target.workdir / "sid").exists()
    if refusal is None:
        until_gone(target, token, "end")
    for name in ("bg", "sid"):
        (target.workdir / name).unlink()
    job = target.submit("sh", "-c", leave_children(target, token, "echo ready; sleep 300"))
    target.until(job, lambda jobs: target("logs", job).out == b"ready\n", "printed ready")
    assert sleepers(token)
    assert target("kill", job).code == 0
    assert target.wait(job) == 143
    if refusal is None:
        until_gone(target, token, "kill")
    else:  # what is left is ended here: nothing may outlive the test
        for pid in sleepers(token):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

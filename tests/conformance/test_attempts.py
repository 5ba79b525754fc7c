"""Running a job again, the same on every backend: ``requeue`` and ``--retries`` (contract cases requeue,
retries), a session's slots (session-slots) and new dependencies for a waiting job (alter). The core does all
of them through the platform's plain submission, so no backend refuses them."""

from __future__ import annotations

import time

from tests import processes
from tests.conftest import until

from .conftest import DEADLINE, Target, case
from .test_control import gated
from .test_results import epoch

#: Appends a line to the file named by $0, then exits with $1 (a job that counts its own runs).
COUNTED = 'echo run >> "$0"; exit "$1"'
#: Appends a line to $0 and succeeds from its third run on.
THIRD_TIME_LUCKY = 'echo run >> "$0"; [ "$(wc -l < "$0")" -ge 3 ]'


def runners(target: Target) -> list[processes.Proc]:
    """The drmaa2 runners of the target's home that are alive."""
    return [p for p in processes.left_behind([target.home]) if "drmaa2cli _runner" in p.cmdline]


def runs(target: Target, name: str) -> int:
    path = target.workdir / name
    return len(path.read_text().splitlines()) if path.exists() else 0


@case("requeue")
def test_requeue_an_ended_and_a_running_job(target: Target) -> None:
    count = str(target.workdir / "count")
    job = target.submit("sh", "-c", COUNTED, count, "3")
    assert target.wait(job) == 3
    r = target("requeue", job)
    assert r.code == 0, r.err
    assert target.wait(job) == 3
    info = target.info(job)
    assert (info["attempt"], len(info["attempts"]), runs(target, "count")) == (2, 1, 2), info
    first = info["attempts"][0]
    assert (first["state"], first["exit_status"]) == ("failed", 3), first
    assert epoch(first["finish_time"]) <= epoch(info["dispatch_time"]) + 1.0, info  # platform clocks may round
    # A running job is killed, then runs again under the same id.
    running = target.submit(*gated(target))
    target.until_state(running, "running")
    assert target("requeue", running).code == 0
    (target.workdir / "go").touch()
    assert target.wait(running) == 0
    again = target.info(running)
    assert again["attempt"] == 2 and again["attempts"][0]["state"] == "failed", again
    # A job that has not started cannot run "again".
    later = target.submit("true", options=("--begin", "+1h"))
    r = target("requeue", later)
    assert r.code == 205 and len(r.err.strip().splitlines()) == 1, r.err
    assert target("requeue", "99999").code == 202
    assert target("kill", later).code == 0


@case("retries")
def test_retries_until_it_succeeds(target: Target) -> None:
    job = target.submit("sh", "-c", THIRD_TIME_LUCKY, str(target.workdir / "lucky"),
                        options=("--retries", "5", "--retry-delay", "2s"))
    assert target.wait(job) == 0  # not 1: wait rides over the failed attempts
    info = target.info(job)
    assert (info["state"], info["attempt"], runs(target, "lucky")) == ("done", 3, 3), info
    assert info["annotation"] == "3 attempts ran", info
    first, second = info["attempts"]
    assert first["exit_status"] == 1 and second["exit_status"] == 1, info
    assert epoch(second["dispatch_time"]) >= epoch(first["finish_time"]) + 2.0 - 1.0, info  # clocks may round


@case("retries")
def test_retries_run_out_and_kill_ends_them(target: Target) -> None:
    job = target.submit("sh", "-c", COUNTED, str(target.workdir / "count"), "4", options=("--retries", "1"))
    assert target.wait(job) == 4  # the last attempt's code
    info = target.info(job)
    assert (info["state"], info["attempt"], runs(target, "count")) == ("failed", 2, 2), info
    assert "2 attempts ran" in info["annotation"], info
    # Killed by drmaa2 kill: no retry follows.
    sleeper = target.submit("sleep", "300", options=("--retries", "3"))
    target.until_state(sleeper, "running")
    assert target("kill", sleeper).code == 0
    assert target.wait(sleeper) == 143
    # No retry can come once the home's retry runner, the one process that would start it, has left.
    until(lambda: not runners(target), "the retry runner left", timeout=DEADLINE)
    ended = target.info(sleeper)
    assert (ended["state"], ended["attempt"]) == ("failed", 1), ended


@case("session-slots")
def test_session_slots(target: Target) -> None:
    target.home.mkdir(mode=0o700, exist_ok=True)
    (target.home / "config.toml").write_text("[sessions.ci]\nslots = 1\n")
    first = target.submit(*gated(target), options=("--session", "ci"))
    second = target.submit("true", options=("--session", "ci"))
    other = target.submit("true", options=("--session", "free"))  # another session has no limit
    target.until_state(first, "running")
    assert target.wait(other) == 0
    info = target.info(second)
    assert (info["state"], info["annotation"]) == ("queued", "waiting for a slot"), info
    (target.workdir / "go").touch()
    assert target.wait(second) == 0 and target.wait(first) == 0
    ran, waited = target.info(first), target.info(second)
    assert epoch(waited["dispatch_time"]) >= epoch(ran["finish_time"]) - 1.0, (ran, waited)


@case("alter")
def test_alter_after(target: Target) -> None:
    first = target.submit(*gated(target))
    waiting = target.submit("true", options=("--begin", "+1h"))
    r = target("alter", waiting, "--after", first, "--begin", "+1s")
    assert r.code == 0, r.err
    target.until_state(first, "running")
    time.sleep(2)  # past its new start time: only the dependency holds it now
    info = target.info(waiting)
    assert (info["state"], info["after"]) == ("queued", [first]), info
    (target.workdir / "go").touch()
    assert target.wait(waiting) == 0
    assert epoch(target.info(waiting)["dispatch_time"]) >= epoch(target.info(first)["finish_time"]) - 1.0
    r = target("alter", waiting, "--after", first)  # it has run
    assert r.code == 205 and len(r.err.strip().splitlines()) == 1, r.err
    loop = target.submit("true", options=("--begin", "+1h"))
    r = target("alter", loop, "--after", loop)
    assert r.code == 201 and "wait for itself" in r.err, r.err
    assert target("kill", loop).code == 0

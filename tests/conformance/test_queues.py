"""Queue control the same on every backend: local queues with slots, priorities among the jobs waiting for a slot,
start times, and altering any job not started (contract cases slots, priority, begin, alter-waiting). The core
does them where the platform does not; a scheduler, whose --queue is its own, refuses local queues and
priorities with one line."""

from __future__ import annotations

import time

from drmaa2cli.backends import backend_class

from .conftest import Target, case
from .test_control import TIMEOUT_TOLERANCE, gated
from .test_results import epoch

QUEUE = "[queues.one]\nslots = 1\n"


def with_local_queue(target: Target) -> None:
    target.home.mkdir(mode=0o700, exist_ok=True)
    (target.home / "config.toml").write_text(QUEUE)


@case("slots")
def test_slots(target: Target) -> None:
    with_local_queue(target)
    if target.refused("slots") is not None:
        target.check_refusal("slots", target("submit", *target.job_options(), "--queue", "one", "--", "true"))
        return
    first = target.submit(*gated(target), options=("--queue", "one"))
    second = target.submit("true", options=("--queue", "one"))
    target.until_state(first, "running")
    # The slot is taken: the second job waits, and says why, until the first has ended.
    info = target.info(second)
    assert (info["state"], info["annotation"], info["queue"]) == ("queued", "waiting for a slot", "one"), info
    (target.workdir / "go").touch()
    assert target.wait(second) == 0 and target.wait(first) == 0
    ran, waited = target.info(first), target.info(second)
    assert waited["annotation"] is None, waited
    assert epoch(waited["dispatch_time"]) >= epoch(ran["finish_time"]) - 1.0, (ran, waited)
    # A queue that is not in the config is refused, not silently ignored.
    r = target("submit", *target.job_options(), "--queue", "nosuchqueue", "--", "true")
    if "queue_name" in backend_class(target.backend).unsupported_fields:  # no queues of its own
        assert r.code == 201 and len(r.err.strip().splitlines()) == 1, r.err


@case("priority")
def test_priority_orders_the_jobs_waiting_for_a_slot(target: Target) -> None:
    with_local_queue(target)
    if target.refused("priority") is not None:
        target.check_refusal("priority", target("submit", *target.job_options(), "--priority", "5", "--", "true"))
        return
    first = target.submit(*gated(target), options=("--queue", "one"))
    target.until_state(first, "running")
    low = target.submit("true", options=("--queue", "one", "--priority", "1"))
    high = target.submit("true", options=("--queue", "one", "--priority", "5"))
    assert target.info(high)["priority"] == 5
    (target.workdir / "go").touch()
    assert target.wait(low) == 0 and target.wait(high) == 0
    # Submitted later but of higher priority: it had the slot first.
    assert epoch(target.info(high)["dispatch_time"]) <= epoch(target.info(low)["dispatch_time"])


@case("begin")
def test_begin(target: Target) -> None:
    r = target("submit", *target.job_options(), "--begin", "25:00", "--", "true")
    assert r.code == 201 and r.err.startswith("drmaa2: --begin: invalid time"), r.err
    before = time.time()
    job = target.submit("true", options=("--begin", "+4s"))
    info = target.info(job)
    begin = epoch(info["start_time"])
    assert before + 3 <= begin <= time.time() + 5, info
    if info["state"] == "queued":  # a slow submit may have taken its 4 s already
        assert info["annotation"].startswith("waiting until "), info
    assert target.wait(job) == 0
    assert epoch(target.info(job)["dispatch_time"]) >= begin - 1.0  # platform clocks may round


@case("alter")
def test_alter_before_the_start_and_not_after(target: Target) -> None:
    job = target.submit("true", options=("--begin", "+1h", "--name", "before"))
    priority = () if target.refused("priority") is not None else ("--priority", "7")
    limit = () if target.refused("timeout") is not None else ("--timeout", "5m")
    # A start time hours away: the job is certainly still queued when looked at, however slow the machine.
    r = target("alter", job, "--name", "after", "--begin", "+3h", *limit, *priority)
    assert r.code == 0, r.err
    info = target.info(job)
    assert info["name"] == "after" and info["state"] == "queued", info
    assert info["priority"] == (7 if priority else 0)
    assert epoch(info["start_time"]) > time.time() + 2 * 3600, info  # the new start time, not the first
    assert target("alter", job, "--begin", "+1s").code == 0
    assert target.wait(job) == 0  # it starts at the new time, not in three hours
    r = target("alter", job, "--name", "too late")
    assert r.code == 205 and len(r.err.strip().splitlines()) == 1, r.err
    assert target.info(job)["name"] == "after"
    later = target.submit("true", options=("--begin", "+1h"))
    for refused, option in (("priority", "--priority=7"), ("timeout", "--timeout=5m")):
        if target.refused(refused) is not None:  # refused as a submit with it would be, before any start
            target.check_refusal(refused, target("alter", later, option))
    assert target("kill", later).code == 0


@case("alter-waiting")
def test_alter_every_job_not_started(target: Target) -> None:
    """Held, waiting --after another, waiting for a slot, waiting for its start time: each can be altered,
    whoever holds it back (the platform or drmaa2), and starts as altered."""
    with_local_queue(target)
    limit = () if target.refused("timeout") is not None else ("--timeout", "5m")
    held = target.submit("sh", "-c", "exit 3", options=("--hold", "--name", "before"))
    assert target("alter", held, "--name", "after", *limit).code == 0
    info = target.info(held)
    assert (info["name"], info["state"]) == ("after", "queued_held"), info
    assert target("alter", held, "--begin", "+1s").code == 0  # a start time for a held job: still held
    assert target.info(held)["state"] == "queued_held"
    assert target("release", held).code == 0
    assert target.wait(held) == 3  # the job itself ran, once
    first = target.submit(*gated(target))
    waiting = target.submit("true", options=("--after", first))
    target.until_state(first, "running")
    r = target("alter", waiting, "--name", "freed", "--after", "")
    assert r.code == 0, r.err
    assert target.wait(waiting) == 0  # no dependency any more: it ran while the first still runs
    assert target.info(first)["state"] == "running"
    assert target.info(waiting)["name"] == "freed"
    # A slot: a local queue's, or (where --queue is the platform's own) an array's throttle.
    options = ("--array", "1-2%1") if target.refused("slots") is not None else ("--queue", "one")
    taken = target.submit(*gated(target), options=options)
    behind = f"{taken}.2" if "--array" in options else target.submit("true", options=options)
    target.until(taken, lambda jobs: any(j["state"] == "running" for j in jobs.values()), "ran")
    assert target.info(behind)["state"] == "queued"
    assert target("alter", behind, "--name", "behind").code == 0
    assert target.info(behind)["name"] == "behind"
    (target.workdir / "go").touch()
    assert target.wait(behind) == 0 and target.wait(taken) == 0
    later = target.submit("true", options=("--begin", "+1h"))  # once the gated jobs are gone: room for it
    assert target("alter", later, "--begin", "+1s").code == 0
    assert target.wait(later) == 0
    # Nothing to change is a usage error, whatever the job's state; a job that ran is refused.
    r = target("alter", later)
    assert r.code == 201 and len(r.err.strip().splitlines()) == 1, r.err
    r = target("alter", later, "--name", "late")
    assert r.code == 205 and len(r.err.strip().splitlines()) == 1, r.err


@case("deadline")
def test_deadline(target: Target) -> None:
    if target.refused("deadline") is not None:
        r = target("submit", *target.job_options(), "--deadline", "+1h", "--", "true")
        target.check_refusal("deadline", r)
        return
    r = target("submit", *target.job_options(), "--deadline", "2000-01-01T00:00", "--", "true")
    assert r.code == 201 and "has passed" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    job = target.submit("sleep", "300", options=("--deadline", "+3s"))
    assert target.info(job)["deadline_time"] is not None
    assert target.wait(job) == 143
    info = target.info(job)
    assert (info["state"], info["signal"]) == ("failed", 15), info
    assert info["annotation"].startswith("timed out"), info["annotation"]
    assert epoch(info["finish_time"]) < epoch(info["deadline_time"]) + TIMEOUT_TOLERANCE, info

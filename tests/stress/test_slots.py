"""Slots hold under concurrency: many submitters into one local queue of 4 slots (``[queues.NAME] slots = 4``), or
into a session of 4 slots (``[sessions.NAME] slots = 4``), never have more than 4 of its jobs running, lose
nothing, and leave no job waiting once slots are free.

Each job counts, when it starts, the jobs of the queue running beside it: it creates a file named after itself
in a shared directory, counts the files there, sleeps a little and removes its file. A file exists only while
its job's process runs, so the largest count any job saw is at most the most jobs that really ran at once; a
status sampler records the most the store ever showed running beside it."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import Scale
from .harness import Figures, StoreWatcher, chunks, cli_env, home_processes, no_traceback, run, wait_for

SLOTS = 4
#: Each job counts the files of the jobs running beside it (its own included) into a log, then holds its slot.
JOB = 'touch "$0/$DRMAA2_JOB_ID"; ls "$0" | wc -l >> "$0.log"; sleep 0.3; rm "$0/$DRMAA2_JOB_ID"'


#: The pool under test: its config entry and the submit options that put a job in it.
POOLS = {
    "queue": (f"[queues.four]\nslots = {SLOTS}\n", ("--queue", "four")),
    "session": (f"[sessions.four]\nslots = {SLOTS}\n", ("--session", "four")),
}


@pytest.mark.parametrize("kind", list(POOLS))
def test_concurrent_submitters_into_four_slots(tmp_path: Path, scale: Scale, figures: Figures, kind: str) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    config, options = POOLS[kind]
    (home / "config.toml").write_text(config)
    running_dir = tmp_path / "running"
    running_dir.mkdir()
    env = cli_env(home)
    jobs_each = 4 if scale.name == "full" else 2
    submitted: dict[str, int] = {}
    lock = threading.Lock()
    done = threading.Event()
    failures: list[str] = []

    def submitter(s: int) -> None:
        rng = random.Random(s)
        for i in range(jobs_each):
            began = time.monotonic()
            try:
                r = run(env, "submit", "--terse", *options, "--priority", str(rng.randint(0, 3)),
                        "--name", f"s{s}-j{i}", "--", "sh", "-c", JOB, str(running_dir), timeout=300)
            except subprocess.TimeoutExpired:
                failures.append(f"submit s{s}-j{i}: no answer in 300 s")
                continue
            figures.high("max_submit_seconds", time.monotonic() - began)
            figures.add("submits")
            no_traceback(r)
            if r.code != 0 or not r.out.strip().isdigit():
                failures.append(f"submit s{s}-j{i}: exit {r.code}: {r.err.strip()}")
                continue
            with lock:
                submitted[r.out.strip()] = s

    def sampler() -> None:
        """The most jobs of the queue the store shows running at once (a record says running from before its
        process starts until a look finds it ended: an upper bound)."""
        while not done.is_set():
            r = run(env, "status", "--all", "--limit", "0", "--json")
            no_traceback(r)
            if r.code == 0:
                states = [j["state"] for j in json.loads(r.out)["jobs"]]
                figures.high("max_running_in_status", states.count("running"))
            done.wait(0.1)

    with StoreWatcher(home, figures) as watcher, ThreadPoolExecutor(scale.submitters + 1) as pool:
        watching = pool.submit(sampler)
        try:  # the sampler stops whatever happens, or the pool would wait for it forever
            for future in [pool.submit(submitter, s) for s in range(scale.submitters)]:
                future.result()
            assert not failures, failures[:10]
            ids = sorted(submitted, key=int)
            for group in chunks(ids, 200):
                r = run(env, "wait", "--timeout", "300", *group, timeout=360)
                assert r.code == 0, r.err  # every job ran, none was left waiting in the queue
        finally:
            done.set()
            watching.result()
    assert not watcher.errors, watcher.errors[:5]

    seen = [int(n) for n in (tmp_path / "running.log").read_text().split()]
    listing = json.loads(run(env, "status", "--all", "--limit", "0", "--json").out)["jobs"]
    listed = {j["id"]: j for j in listing}
    figures.set("jobs_submitted", len(ids))
    figures.set("jobs_started", len(seen))
    figures.set("max_running_seen_by_jobs", max(seen))
    figures.set("records_lost", len(set(ids) - set(listed)))
    assert len(ids) == scale.submitters * jobs_each
    assert set(listed) == set(ids) and len(listing) == len(ids)
    where = "queue" if kind == "queue" else "session"
    assert all(j["state"] == "done" and j[where] == "four" for j in listing), listing
    assert len(seen) == len(ids)  # each job ran exactly once
    assert max(seen) <= SLOTS, sorted(seen)[-10:]
    assert figures["max_running_in_status"] <= SLOTS
    # The queue's runner leaves once no job waits: nothing of this home outlives its jobs.
    assert wait_for(lambda: not home_processes(home), 10), "the queue's runner outlived its jobs"

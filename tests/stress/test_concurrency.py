"""Many drmaa2 processes at once on one home: submitters, plus status, wait and kill callers, while a watcher
reads the store files the whole time. Nothing may be lost, duplicated or swapped, and every read must load."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .conftest import Scale
from .harness import (
    Figures,
    StoreWatcher,
    chunks,
    cli_env,
    home_processes,
    no_traceback,
    read_store,
    run,
    wait_for,
)


def job_for(submitter: int, index: int) -> tuple[list[str], int | None]:
    """The command of one job and the exit status it must end with (None: a sleeper that may be killed)."""
    if index % 4 == 3:
        return ["sleep", "5"], None
    status = (submitter + index) % 3
    return ["sh", "-c", f"exit {status}"], status


def test_concurrent_submitters_with_status_wait_and_kill(tmp_path: Path, scale: Scale, figures: Figures) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    submitted: dict[str, tuple[int, int]] = {}  # job id -> (submitter, index)
    sleepers: list[str] = []
    lock = threading.Lock()
    done = threading.Event()
    failures: list[str] = []

    def submitter(s: int) -> None:
        for i in range(scale.jobs_each):
            command, _ = job_for(s, i)
            r = run(env, "submit", "--terse", "--name", f"s{s}-j{i}", "--", *command)
            figures.add("submits")
            if r.code != 0 or not r.out.strip().isdigit():
                failures.append(f"submit s{s}-j{i}: exit {r.code}: {r.err.strip()}")
                continue
            with lock:
                submitted[r.out.strip()] = (s, i)
                if command[0] == "sleep":
                    sleepers.append(r.out.strip())

    def observer(kind: str, seed: int) -> None:
        rng = random.Random(seed)
        while not done.is_set():
            with lock:
                ids = list(submitted)
                victims = sleepers[-8:]  # the newest sleepers, most likely still running
            if kind == "status":
                r = run(env, "status", "--all", "--limit", "0", "--json")
                figures.add("status_calls")
                no_traceback(r)
                if r.code != 0:
                    failures.append(f"status: exit {r.code}: {r.err.strip()}")
                    continue
                listed = [j["id"] for j in json.loads(r.out)["jobs"]]
                if len(listed) != len(set(listed)):
                    failures.append(f"status listed an id twice: {sorted(listed)}")
                missing = set(ids) - set(listed)  # ids known before the call must all be listed
                if missing:
                    failures.append(f"status did not list submitted jobs {sorted(missing)[:10]}")
            elif kind == "wait" and ids:
                r = run(env, "wait", "--timeout", "60", *rng.sample(ids, min(3, len(ids))))
                figures.add("wait_calls")
                no_traceback(r)
                if r.code == 124 or r.code >= 200:
                    failures.append(f"wait: exit {r.code}: {r.err.strip()}")
            elif kind == "kill" and victims:
                r = run(env, "kill", rng.choice(victims))
                figures.add("kill_calls")
                no_traceback(r)
                if r.code not in (0, 205):  # 205: it had ended already
                    failures.append(f"kill: exit {r.code}: {r.err.strip()}")
            else:
                done.wait(0.05)  # nothing to wait for or kill yet

    kinds = [k for k in ("status", "wait", "kill") for _ in range(scale.observers)]
    with StoreWatcher(home, figures) as watcher, ThreadPoolExecutor(scale.submitters + len(kinds)) as pool:
        watchers = [pool.submit(observer, kind, n) for n, kind in enumerate(kinds)]
        for future in [pool.submit(submitter, s) for s in range(scale.submitters)]:
            future.result()
        done.set()
        for future in watchers:
            future.result()
    assert not failures, failures[:10]
    assert not watcher.errors, watcher.errors[:5]

    ids = sorted(submitted, key=int)
    expected = scale.submitters * scale.jobs_each
    figures.set("jobs_submitted", len(ids))
    assert len(ids) == expected
    for group in chunks(ids, 200):
        r = run(env, "wait", "--timeout", "120", *group)
        assert r.code != 124 and r.code < 200, r.err
    listing = json.loads(run(env, "status", "--all", "--limit", "0", "--json").out)["jobs"]
    listed = {j["id"]: j for j in listing}
    figures.set("records_lost", len(set(ids) - set(listed)))
    figures.set("duplicate_ids", len(listing) - len(listed))
    assert set(listed) == set(ids) and len(listing) == len(ids)
    killed = 0
    for job_id, (s, i) in submitted.items():
        job = listed[job_id]
        command, status = job_for(s, i)
        assert job["name"] == f"s{s}-j{i}" and job["command"] == command, job  # not swapped with another
        if status is None:
            assert job["state"] == "done" or job["signal"] == 15, job
            killed += job["signal"] == 15
        else:
            assert job["exit_status"] == status and job["state"] == ("done" if status == 0 else "failed"), job
    figures.set("jobs_killed", killed)
    view = read_store(home)
    assert not view.duplicates and not view.overlap and view.ids == set(ids) and view.next_job == expected + 1
    assert wait_for(lambda: not home_processes(home), 10), "processes of this home outlived their jobs"

"""kill -9 of drmaa2 commands at random moments -- during submit, status (which writes state changes and
archives finished jobs), rm, kill and wait -- with several under fire at once. After every kill the store must
load; at the end no job whose id a submit printed may be missing, nothing may be listed twice, every job must
reach a final state and no process of the home may be left behind."""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .conftest import Scale
from .harness import Figures, chunks, cli_env, home_processes, no_traceback, read_store, run, spawn, wait_for

# (operation, weight); "rm-finished" only ever runs in session "b", so session "a" keeps every record.
OPERATIONS = [("submit", 30), ("array", 8), ("status", 20), ("rm", 12), ("rm-finished", 4), ("kill", 12),
              ("wait", 14)]


class Ledger:
    """What the commands under fire reported, and which records they may legitimately have removed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reported: dict[str, str] = {}  # job id -> session, for every id a submit printed
        self.sleepers: list[str] = []
        self.removable: set[str] = set()  # named by an rm that may have taken effect

    def ids(self) -> list[str]:
        with self.lock:
            return list(self.reported)


def command_for(op: str, rng: random.Random, ledger: Ledger) -> tuple[list[str], str | None]:
    """The drmaa2 arguments for ``op`` and the session a submit goes to."""
    session = rng.choice("ab")
    ids = ledger.ids()
    if op == "submit":
        job = rng.choice([["true"], ["sh", "-c", "exit 3"], ["sleep", "0.5"]])
        return ["submit", "--terse", "--session", session, "--", *job], session
    if op == "array":
        return ["submit", "--terse", "--session", session, "--array", "1-3", "--", "true"], session
    if op == "status":
        return ["status", "--all", "--limit", "0", "--json"], None
    if op == "rm-finished":
        return ["rm", "--finished", "--session", "b"], None
    if not ids:
        return ["status"], None
    if op == "rm":
        return ["rm", *rng.sample(ids, min(2, len(ids)))], None
    if op == "kill":
        with ledger.lock:
            victims = ledger.sleepers[-5:] or ids
        return ["kill", rng.choice(victims)], None
    return ["wait", "--timeout", "2", *rng.sample(ids, min(3, len(ids)))], None


def test_kill_9_at_random_moments_loses_nothing(tmp_path: Path, scale: Scale, figures: Figures) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    ledger = Ledger()
    kills = 0
    kills_lock = threading.Lock()
    problems: list[str] = []
    # How long each kind of command takes when left alone (a running average): kill moments are drawn over
    # that span, so that kills land early, late and in the middle whatever the machine's load.
    started = time.monotonic()
    # Enough finished jobs that the commands under fire also move records to the archive.
    warm = [run(env, "submit", "--terse", "--session", "a", "--", "true").out.strip() for _ in range(36)]
    ledger.reported.update(dict.fromkeys(warm, "a"))
    baseline = (time.monotonic() - started) / len(warm)
    durations = {op: baseline for op, _ in OPERATIONS}

    def worker(seed: int) -> None:
        nonlocal kills
        rng = random.Random(seed)
        names, weights = zip(*OPERATIONS, strict=True)
        while True:
            with kills_lock:
                if kills >= scale.kills:
                    return
            op = rng.choices(names, weights)[0]
            args, session = command_for(op, rng, ledger)
            if op in ("rm", "rm-finished"):
                with ledger.lock:
                    ledger.removable.update(a for a in args[1:] if a[0].isdigit())
            started = time.monotonic()
            proc = spawn(env, *args)
            # Mostly in the last part of a command's run (where it reads and writes), sometimes anywhere,
            # and now and then not at all so that the history keeps growing.
            spread = rng.random()
            low = 0.0 if spread < 0.25 else 0.6
            time.sleep(rng.uniform(low, 1.15) * durations[op])
            landed = False
            if spread < 0.9 and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                landed = True
            out, err = proc.communicate()
            landed = landed and proc.returncode == -signal.SIGKILL
            if not landed:
                durations[op] = 0.7 * durations[op] + 0.3 * (time.monotonic() - started)
            figures.add("commands_run")
            if landed:
                with kills_lock:
                    kills += 1
                figures.add(f"kills_during_{op}")
            elif proc.returncode not in expected_codes(op):
                problems.append(f"{args}: exit {proc.returncode}: {err.decode(errors='replace').strip()}")
            if b"Traceback" in err:
                problems.append(f"{args}: traceback: {err.decode(errors='replace')}")
            printed = out.decode().split()
            if session is not None and printed and printed[0].isdigit():
                number = printed[0]
                with ledger.lock:
                    if op == "array":
                        for task in (1, 2, 3):
                            ledger.reported[f"{number}.{task}"] = session
                    else:
                        ledger.reported[number] = session
                        if "sleep" in args:
                            ledger.sleepers.append(number)
            try:
                view = read_store(home)  # the store loads after every command, killed or not
                assert not view.duplicates, view.duplicates
            except Exception as e:
                problems.append(f"store after {args} (killed: {landed}): {type(e).__name__}: {e}")
            figures.add("store_loads_checked")

    with ThreadPoolExecutor(scale.crash_workers) as pool:
        for future in [pool.submit(worker, n) for n in range(scale.crash_workers)]:
            future.result()
    assert not problems, problems[:10]
    figures.set("kills", kills)

    listing = run(env, "status", "--all", "--limit", "0", "--json")
    no_traceback(listing)
    assert listing.code == 0, listing.err
    jobs = json.loads(listing.out)["jobs"]
    listed = {j["id"]: j for j in jobs}
    assert len(listed) == len(jobs), "an id is listed twice"
    kept = {i for i, s in ledger.reported.items() if s == "a" and i not in ledger.removable}
    lost = kept - set(listed)
    figures.set("ids_reported", len(ledger.reported))
    figures.set("records_lost", len(lost))
    figures.set("records_without_report", len(set(listed) - set(ledger.reported)))
    assert not lost, f"jobs reported as submitted are missing: {sorted(lost, key=float)[:20]}"
    # Every record reaches a final state in bounded time, also those whose submit was killed half-way.
    for group in chunks(sorted(listed), 200):
        r = run(env, "wait", "--timeout", "60", *group)
        assert (r.code != 124 and r.code < 200) or r.code == 207, r.err
    final = json.loads(run(env, "status", "--all", "--limit", "0", "--json").out)["jobs"]
    assert all(j["state"] in ("done", "failed") for j in final)
    figures.set("never_started", sum(1 for j in final if (j["annotation"] or "").startswith("never started")))
    view = read_store(home)
    assert not view.duplicates and view.ids == set(listed)
    left = [*home.glob(".*.tmp"), *home.glob("archive/.*.tmp"), *home.glob("arrays/.*.tmp")]
    figures.set("temp_files_left_by_kills", len(left))
    assert run(env, "submit", "--", "true").code == 0  # the next writer clears what killed writers left
    assert not [*home.glob(".*.tmp"), *home.glob("archive/.*.tmp"), *home.glob("arrays/.*.tmp")]
    assert wait_for(lambda: not home_processes(home), 15), [home_processes(home)]


def expected_codes(op: str) -> set[int]:
    """Exit codes a command of this kind may give when it was not killed."""
    if op in ("submit", "array", "status"):
        return {0}
    if op in ("rm", "kill"):
        return {0, 202, 205}  # removed or ended meanwhile by another command under fire
    if op == "rm-finished":
        return {0}
    return set(range(0, 256)) - set(range(200, 207)) - {208} | {202}  # wait: a job's code, 124, 207, 202


def test_crash_between_the_archive_write_and_the_live_write(tmp_path: Path, figures: Figures) -> None:
    """Archiving writes the shard first, then the live file. A writer killed between the two leaves the moved
    records in both; the next writer archives them again and must not make a second copy."""
    home = tmp_path / "home"
    env = cli_env(home)
    ids = [run(env, "submit", "--terse", "--", "true").out.strip() for _ in range(31)]
    assert run(env, "wait", *ids).code == 0  # 31 final records: one short of an archiving batch
    last = run(env, "submit", "--terse", "--", "true").out.strip()
    assert wait_for(lambda: (home / "run" / f"{last}.exit").exists(), 20)
    before = (home / "jobs.json").read_bytes()  # the live file as the archiving writer found it
    assert run(env, "status").code == 0  # folds in the 32nd exit and archives all 32
    assert len(read_store(home).archived) == 32
    (home / "jobs.json").write_bytes(before)  # as if that writer died before replacing the live file
    figures.add("crash_states_replayed")
    assert len(read_store(home).overlap) == 32
    assert run(env, "status").code == 0
    view = read_store(home)
    assert not view.duplicates and not view.overlap and len(view.archived) == 32
    listing = json.loads(run(env, "status", "--limit", "0", "--json").out)["jobs"]
    assert len(listing) == len({j["id"] for j in listing}) == 32
    counts = json.loads(run(env, "sessions", "--json").out)["sessions"][0]["counts"]
    assert counts == {"done": 32}


def test_temp_files_of_killed_writers_are_cleared(tmp_path: Path, figures: Figures) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    assert run(env, "submit", "--", "true").code == 0
    (home / "archive").mkdir(mode=0o700)
    stale = [home / ".jobs.json.99999.tmp", home / "archive" / ".000000.json.99998.tmp"]
    for path in stale:
        path.write_bytes(b'{"_meta": {"1": {"schema_ver')  # cut off mid-write
    figures.add("crash_states_replayed")
    assert run(env, "submit", "--", "true").code == 0
    assert not any(p.exists() for p in stale)
    assert read_store(home).next_job == 3

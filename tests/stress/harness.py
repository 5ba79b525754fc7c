"""What the stress tests share: the CLI as real subprocesses, a strict reader of the store files, a look at
the processes a drmaa2 home owns, and the figures each test reports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drmaa2cli.store import ARCHIVE_DIR, LIVE_FILE, read_json_file
from tests.conftest import Result

DRMAA2 = [sys.executable, "-m", "drmaa2cli"]

#: Every exit code README.md documents for drmaa2 itself (jobs' own codes 0-255 come on top for wait/run).
DRMAA2_CODES = frozenset({0, 124, 127, 130, *range(200, 209)})
#: Commands whose exit code may be a job's own (0-255).
JOB_CODE_COMMANDS = frozenset({"wait", "run", "logs"})


class Figures:
    """Thread-safe counters of what a test did (runs, kills, faults, inputs, records lost)."""

    def __init__(self) -> None:
        self._counts: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, key: str, n: float = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def high(self, key: str, value: float) -> None:
        """Keep the largest ``value`` seen under ``key`` (name it max_...)."""
        with self._lock:
            self._counts[key] = max(self._counts.get(key, value), value)

    def set(self, key: str, value: float) -> None:
        with self._lock:
            self._counts[key] = value

    def __getitem__(self, key: str) -> float:
        with self._lock:
            return self._counts.get(key, 0)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._counts)


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRMAA2_", "CF_"))}
    env["DRMAA2_HOME"] = str(home)
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str | bytes, timeout: float = 120, cwd: Path | None = None) -> Result:
    """One drmaa2 call, its output decoded leniently (hostile bytes must not break the test itself)."""
    proc = subprocess.run(
        [*DRMAA2, *args], env=env, capture_output=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL
    )
    return Result(proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"),
                  proc.stderr.decode("utf-8", "surrogateescape"))


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*DRMAA2, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err


def one_line_error(result: Result) -> None:
    """drmaa2's contract for its own errors: one line on stderr starting ``drmaa2:``."""
    no_traceback(result)
    lines = result.err.strip().splitlines()
    assert lines and all(line.startswith("drmaa2: ") for line in lines), result.err


# --- the store ---------------------------------------------------------------------------------------------
@dataclass
class StoreView:
    """Every record of a home as read strictly from its files (by id; archive and live apart)."""

    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    archived: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    #: In the live file and the archive at once: normal for a reader racing a writer that archives them
    #: (the reader prefers the live copy), and after a crash between the two writes, until the next write.
    overlap: set[str] = field(default_factory=set)
    next_job: int = 1

    @property
    def ids(self) -> set[str]:
        return set(self.live) | set(self.archived)


def read_store(home: Path) -> StoreView:
    """Load the live file and every archive shard with drmaa2's own loader (a broken file raises StoreError).
    A record in two shards, or twice in one file, or archived while not final, is a duplicate."""
    view = StoreView()
    live = read_json_file(home / LIVE_FILE)
    if live is None:
        return view
    view.next_job = int(live["_meta"]["1"]["next_job"])
    for rec in live.get("jobs", {}).values():
        if rec["id"] in view.live:
            view.duplicates.append(rec["id"])
        view.live[rec["id"]] = rec
    archive = home / ARCHIVE_DIR
    for shard in sorted(archive.glob("*.json")) if archive.is_dir() else []:
        data = read_json_file(shard) or {}
        for rec in data.get("jobs", {}).values():
            if rec["id"] in view.archived:
                view.duplicates.append(rec["id"])
            view.archived[rec["id"]] = rec
    # Arrays' files: a live array's tasks are live, an array the live file does not list is archived, and one
    # numbered from the live file's next job on was submitted after the live file was read.
    listed = set(live["_meta"]["1"].get("arrays", ()))
    arrays = home / "arrays"
    for path in sorted(arrays.glob("*.json")) if arrays.is_dir() else []:
        number = int(path.stem)
        if number >= view.next_job:
            continue
        data = read_json_file(path) or {}
        into = view.live if number in listed else view.archived
        for rec in data.get("jobs", {}).values():
            if rec["id"] in into:
                view.duplicates.append(rec["id"])
            into[rec["id"]] = rec
    view.overlap = set(view.live) & set(view.archived)
    view.duplicates += [i for i, rec in view.archived.items() if rec["state"] not in ("done", "failed")]
    return view


class StoreWatcher:
    """Reads every store file in a loop while other processes write it: each read must load."""

    def __init__(self, home: Path, figures: Figures) -> None:
        self.home = home
        self.figures = figures
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> StoreWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                view = read_store(self.home)
                if view.duplicates:
                    self.errors.append(f"duplicate records {sorted(set(view.duplicates))[:5]}")
            except Exception as e:  # any failure to load is what this watcher is for
                self.errors.append(f"{type(e).__name__}: {e}")
            self.figures.add("store_reads_checked")
            time.sleep(0.005)


# --- processes ---------------------------------------------------------------------------------------------
def home_processes(home: Path) -> list[int]:
    """Pids of live processes started for ``home`` (shepherds, runners and jobs inherit DRMAA2_HOME)."""
    marker = f"DRMAA2_HOME={home}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if marker in env and stat[stat.rindex(b")") + 2 :][:1] not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def cmdline(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[:-1]
    except OSError:
        return []


def supervisors(home: Path) -> list[int]:
    """Shepherds and runners of ``home``: every supervisor, none of the jobs."""
    return [
        pid for pid in home_processes(home)
        if any(b"shepherd" in part or part == b"_runner" for part in cmdline(pid))
    ]


def kill_all(pids: Iterable[int], sig: int = signal.SIGKILL, groups: bool = False) -> int:
    killed = 0
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            (os.killpg if groups else os.kill)(pid, sig)
            killed += 1
    return killed


def end_jobs(env: dict[str, str], cwd: Path | None = None) -> None:
    """End every process a test started for ``env``'s home: its active jobs through ``drmaa2 kill`` (every
    session), then whatever still runs (a shepherd of a record the test broke, a runner, an orphaned job)."""
    r = run(env, "status", "--all", "--json", "--limit", "0", cwd=cwd)
    with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
        active = [j["id"] for j in json.loads(r.out)["jobs"] if j["state"] not in ("done", "failed")]
        if r.code == 0 and active:
            run(env, "kill", "--signal", "KILL", *active, cwd=cwd)
            run(env, "wait", "--timeout", "60", *active, cwd=cwd)
    home = Path(env["DRMAA2_HOME"])
    pids = home_processes(home)
    kill_all(pids)
    assert wait_for(lambda: not home_processes(home), 30), f"processes of {home} do not end: {pids}"


def finished_singles(home: Path, count: int) -> list[str]:
    """``count`` single jobs recorded done, through the store as a submit and its wait leave them: enough of
    them and the next write moves them to an archive shard (an array's tasks never go there: they stay in the
    array's own file). One process instead of ``count`` CLI runs."""
    from drmaa2cli.models import JobInfo, JobState, JobTemplate
    from drmaa2cli.store import Store

    with Store(home).transaction() as txn:
        jobs = [JobInfo(id=str(txn.allocate()), session="default", backend="process", state=JobState.DONE,
                        template=JobTemplate(remote_command="true"), submission_time=time.time(), exit_status=0)
                for _ in range(count)]
        txn.put_many(jobs)
    return [j.id for j in jobs]


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

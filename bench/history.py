"""Job store histories of any size, written through the store API (``Transaction.put_many``, then the store's
own archiving) rather than by submitting that many jobs: 100k records take seconds instead of hours, and the
files are exactly what drmaa2 writes.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.store import SHARD_SIZE, Store


def _record(number: int, home: Path, now: float) -> JobInfo:
    """A finished job shaped like a real one (~600 bytes in the store): every tenth failed."""
    failed = number % 10 == 0
    start = now - 86400 + number * 0.5
    return JobInfo(
        id=str(number),
        session="default",
        backend="process",
        state=JobState.FAILED if failed else JobState.DONE,
        template=JobTemplate(
            remote_command="sh",
            args=["-c", f"make -C /srv/build/project test TARGET=unit-{number % 97}"],
            job_name=f"build-{number % 13}",
            working_directory="/srv/build/project",
            job_environment={"CI": "true"},
        ),
        native_id=str(100000 + number),
        annotation="exited with status 2" if failed else None,
        exit_status=2 if failed else 0,
        submission_time=start,
        dispatch_time=start + 0.01,
        finish_time=start + 3.2,
        cpu_time=2.75,
        max_rss=48120,
        machine=socket.gethostname(),
        submission_machine=socket.gethostname(),
        job_owner="ci",
        output_path=str(home / "output" / f"{number}.out"),
        error_path=str(home / "output" / f"{number}.err"),
        backend_data={"shepherd": 90000 + number, "shepherd_start": 5000 + number, "group": str(number),
                      "pid": 100000 + number, "proc_start": 5001 + number},
    )


def make_history(home: Path, records: int) -> float:
    """Fill the store at ``home`` with ``records`` finished jobs (ids allocated by the store, one transaction
    per archive shard); returns the seconds it took."""
    began = time.perf_counter()
    store = Store(home)
    now = time.time()
    left = records
    while left > 0:
        with store.transaction() as txn:
            batch = []
            for _ in range(min(SHARD_SIZE, left)):
                batch.append(_record(txn.allocate(), home, now))
            txn.put_many(batch)
        left -= len(batch)
    os.makedirs(home / "output", mode=0o700, exist_ok=True)
    return time.perf_counter() - began


def store_bytes(home: Path) -> int:
    """Size of the live file plus every archive shard and array's file."""
    total = 0
    shards = sorted((home / "archive").glob("*.json"))
    for path in [home / "jobs.json", *shards, *(home / "arrays").glob("*.json")]:
        if path.exists():
            total += path.stat().st_size
    return total

"""One bad record never costs the rest: a record that fails its check is left out by readers, moved to
quarantine.json by the next write, and every other job stays usable; a record that would fail its check is never
written."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.store import Store, quarantine
from drmaa2cli.store.files import SHARD_SIZE


def _fill(store: Store, n: int, state: JobState = JobState.QUEUED_HELD) -> list[str]:
    with store.transaction() as txn:
        jobs = [JobInfo(id=str(txn.allocate()), session="s", backend="process", state=state,
                        template=JobTemplate(remote_command="true")) for _ in range(n)]
        txn.put_many(jobs)
    return [j.id for j in jobs]


def _damage(path: Path, job_id: str, **fields: object) -> None:
    data = json.loads(path.read_bytes())
    key = next(k for k, r in data["jobs"].items() if r["id"] == job_id)
    data["jobs"][key].update(fields)
    path.write_text(json.dumps(data))


def test_one_corrupt_record_among_10000_costs_only_itself(tmp_path: Path) -> None:
    warned: list[str] = []
    store = Store(tmp_path, warn=warned.append)
    ids = _fill(store, 10_000)
    _damage(store.live_path, ids[70], template={"job_name": 5, "remote_command": "true"})
    lock = os.open(tmp_path / "lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process writes: a reader leaves the record out, says so
        snap = store.snapshot()
        assert snap.find(ids[70]) is None and snap.find(ids[71]) is not None
        assert len(list(snap.live_records())) == 9_999
    finally:
        os.close(lock)
    assert len(warned) == 1 and f"'{ids[70]}'" in warned[0] and "job_name" in warned[0], warned
    assert "left out" in warned[0] and quarantine.entries(store) == []
    _fill(store, 1)  # the next write moves it
    kept = quarantine.entries(store)
    assert [e["record"]["id"] for e in kept] == [ids[70]] and "job_name" in kept[0]["problem"]
    assert oct(os.stat(store.quarantine_path).st_mode & 0o777) == "0o600"
    raw = json.loads(store.live_path.read_bytes())
    assert ids[70] not in {r["id"] for r in raw["jobs"].values()} and len(raw["jobs"]) == 10_000
    _fill(store, 1)
    assert len(quarantine.entries(store)) == 1  # kept once
    assert len(warned) == 1  # told once per process


def test_a_reader_moves_a_damaged_record_when_the_store_is_free(tmp_path: Path) -> None:
    warned: list[str] = []
    store = Store(tmp_path, warn=warned.append)
    ids = _fill(store, 3)
    _damage(store.live_path, ids[1], state="nonsense")
    assert [j.id for j in map(JobInfo.from_record, store.snapshot().live_records())] == [ids[0], ids[2]]
    assert "moved to" in warned[0] and [e["record"]["id"] for e in quarantine.entries(store)] == [ids[1]]


def test_a_damaged_record_in_an_archive_shard_is_moved_too(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ids = _fill(store, 40, JobState.DONE)
    _fill(store, 1)  # archives the finished batch
    shard = store.shard_path(int(ids[3]) // SHARD_SIZE)
    assert shard.exists()
    _damage(shard, ids[3], state="nonsense")
    with store.transaction() as txn:
        assert txn.find(ids[3]) is None and txn.find(ids[4]) is not None
    assert [e["record"]["id"] for e in quarantine.entries(store)] == [ids[3]]
    assert ids[3] not in {r["id"] for r in json.loads(shard.read_bytes())["jobs"].values()}


def test_a_record_that_would_fail_its_check_is_never_written(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bad = JobInfo(id="1", session="s", backend="process", template=JobTemplate(remote_command="true"))
    bad.template.job_environment = {"A": 1}  # type: ignore[dict-item]
    with pytest.raises(InvalidArgument, match="environment value"), store.transaction() as txn:
        txn.put(bad)
    assert store.snapshot().find("1") is None


def test_a_file_that_is_not_a_store_is_still_refused_whole(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _fill(store, 2)
    data = json.loads(store.live_path.read_bytes())
    data["jobs"] = []
    store.live_path.write_text(json.dumps(data))
    from drmaa2cli.errors import StoreError

    with pytest.raises(StoreError, match="damaged"):
        store.snapshot()

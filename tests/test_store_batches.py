"""The store's batch paths (archiving, bulk inserts and updates) keep every record, in the right file, and the
files stay plain TinyDB databases."""

from __future__ import annotations

import json
from pathlib import Path

from tinydb import TinyDB

from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.store import ARCHIVE_BATCH, Store


def _job(number: int, state: JobState, session: str = "default") -> JobInfo:
    return JobInfo(id=str(number), session=session, backend="process", state=state,
                   template=JobTemplate(remote_command="true"), submission_time=float(number))


def test_archiving_across_a_shard_boundary(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        txn.meta_doc()["next_job"] = 980
        jobs = [_job(txn.allocate(), JobState.FAILED if n % 3 == 0 else JobState.DONE,
                     "other" if n % 5 == 0 else "default") for n in range(40)]
        jobs.append(_job(txn.allocate(), JobState.RUNNING))
        txn.put_many(jobs)
    assert len(jobs) - 1 >= ARCHIVE_BATCH
    live = json.loads((tmp_path / "jobs.json").read_text())
    assert [r["id"] for r in live["jobs"].values()] == ["1020"]  # only the running job stays live
    with TinyDB(tmp_path / "archive" / "000000.json") as db:
        assert sorted(int(d["id"]) for d in db.table("jobs").all()) == list(range(980, 1000))
    with TinyDB(tmp_path / "archive" / "000001.json") as db:
        assert sorted(int(d["id"]) for d in db.table("jobs").all()) == list(range(1000, 1020))
    counts = live["_meta"]["1"]["archived"]
    assert sum(sum(c.values()) for c in counts.values()) == 40
    assert counts["other"] == {"done": 5, "failed": 3}
    snap = store.snapshot()
    assert snap.get("999").state is JobState.DONE and snap.get("1000").state is JobState.DONE
    assert [r["id"] for r in snap.archived_records()][:2] == ["1019", "1018"]

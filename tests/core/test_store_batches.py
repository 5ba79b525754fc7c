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


def test_batched_updates_keep_the_rules_of_single_ones(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        running = [_job(txn.allocate(), JobState.RUNNING) for _ in range(5)]
        running[0].annotation = running[4].annotation = "kept unless replaced"
        txn.put_many(running)
    with store.transaction() as txn:
        txn.put(running[1].evolve(state=JobState.DONE, exit_status=0))  # final from now on
        txn.remove([running[2].id])
    gone = _job(99, JobState.RUNNING)
    with store.transaction() as txn:
        txn.put_many([
            running[0].evolve(machine="m", annotation=None),
            running[1].evolve(state=JobState.FAILED, exit_status=9),  # must not move a final record
            running[2].evolve(state=JobState.DONE),  # removed meanwhile: must not come back
            running[3].evolve(state=JobState.DONE, exit_status=0),
            gone,
        ], create=False)
        txn.put_many([_job(txn.allocate(), JobState.QUEUED),
                      running[4].evolve(state=JobState.SUSPENDED, annotation=None)])
    snap = store.snapshot()
    first = snap.get(running[0].id)
    assert first.machine == "m" and first.annotation == "kept unless replaced"  # fields merge
    assert snap.get(running[4].id).annotation is None  # a new state drops the old one's annotation
    assert snap.get(running[1].id).state is JobState.DONE and snap.get(running[1].id).exit_status == 0
    assert snap.find(running[2].id) is None and snap.find(gone.id) is None
    assert snap.get(running[3].id).state is JobState.DONE
    assert snap.get(running[4].id).state is JobState.SUSPENDED
    assert snap.get("6").state is JobState.QUEUED
    assert sorted(int(r["id"]) for r in snap.live_records()) == [1, 2, 4, 5, 6]


def test_attempts_never_write_over_a_later_one(tmp_path: Path) -> None:
    """A new attempt replaces the record whole; a copy of an earlier attempt is never written over it; a new
    attempt is not started over a kill request; and ``revive`` brings an archived job back as its next attempt."""
    from drmaa2cli.deferred.retries import next_attempt

    store = Store(tmp_path)
    with store.transaction() as txn:
        first = _job(txn.allocate(), JobState.RUNNING)
        first.dispatch_time, first.native_id = 5.0, "111"
        killed = _job(txn.allocate(), JobState.RUNNING)
        killed.backend_data = {"terminate_requested": 1.0}
        txn.put_many([first, killed])
    ended = first.evolve(state=JobState.FAILED, exit_status=1, finish_time=6.0)
    second = next_attempt(ended, {}, "attempt 2")
    with store.transaction() as txn:
        txn.put_many([second, next_attempt(killed.evolve(state=JobState.FAILED, signal=15), {}, None)],
                     create=False)
    snap = store.snapshot()
    now = snap.get(first.id)
    assert (now.attempt, now.state, now.dispatch_time, now.native_id) == (2, JobState.REQUEUED, None, None)
    assert now.attempts is not None and now.attempts[0]["exit_status"] == 1
    assert snap.get(killed.id).attempt == 1  # drmaa2 kill asked for its end: no next attempt over it
    with store.transaction() as txn:
        txn.put(ended, create=False)  # a `wait` that read attempt 1 saw it end
    assert store.snapshot().get(first.id).state is JobState.REQUEUED
    # An ended job long archived runs again.
    with store.transaction() as txn:
        txn.put(second.evolve(state=JobState.DONE, exit_status=0), create=False)
        txn.put_many([_job(txn.allocate(), JobState.DONE) for _ in range(ARCHIVE_BATCH)])
    assert all(r["id"] != first.id for r in store.snapshot().live_records())
    archived = store.snapshot().get(first.id)
    with store.transaction() as txn:
        txn.revive(next_attempt(archived, {}, None))
    third = store.snapshot().get(first.id)
    assert (third.attempt, third.state, [a["state"] for a in third.attempts or []]) == (
        3, JobState.REQUEUED, ["failed", "done"])
    assert sum(sum(c.values()) for c in json.loads((tmp_path / "jobs.json").read_text())["_meta"]["1"]
               ["archived"].values()) == ARCHIVE_BATCH

"""The job store in-process (``drmaa2cli.store.Store`` in a temporary home): records read back as written, ids
are never given twice, the rules of a write (final records, kill requests, attempts), archiving and removal,
sessions, an old store that still loads, and a damaged file named with its problem and left untouched."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.errors import JobNotFound, StoreError
from drmaa2cli.models import SCHEMA_VERSION, JobInfo, JobState, JobTemplate
from drmaa2cli.store import ARCHIVE_BATCH, Store

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-v1"


def _job(number: int | str, state: JobState = JobState.RUNNING, session: str = "default",
         **fields: Any) -> JobInfo:
    return JobInfo(id=str(number), session=session, backend="process", state=state,
                   template=JobTemplate(remote_command="true"), submission_time=1.0, **fields)


def _live(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "jobs.json").read_text())
    return data


def _stored(store: Store, *jobs: JobInfo) -> list[str]:
    """Write ``jobs`` as new records in one transaction; their ids."""
    with store.transaction() as txn:
        txn.put_many(list(jobs))
    return [j.id for j in jobs]


def test_a_new_store_is_private_and_names_its_version_and_instance(tmp_path: Path) -> None:
    home = tmp_path / "a" / "home"
    store = Store(home)
    instance = store.instance()  # the first call creates the store
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700  # a parent it made too
    assert stat.S_IMODE(os.stat(home / "jobs.json").st_mode) == 0o600
    meta = _live(home)["_meta"]["1"]
    assert (meta["schema_version"], meta["next_job"], meta["instance"]) == (SCHEMA_VERSION, 1, instance)
    assert len(instance) == 8 and int(instance, 16) >= 0
    assert Store(home).instance() == instance


def test_job_numbers_continue_across_transactions_and_removals(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        first = [txn.allocate(), txn.allocate()]
        txn.put(_job(first[1]))
    with store.transaction() as txn:
        assert txn.remove([str(first[1])]) == 1
    with store.transaction() as txn:
        assert [*first, txn.allocate()] == [1, 2, 3]


def test_a_record_reads_back_as_it_was_written(tmp_path: Path) -> None:
    store = Store(tmp_path)
    template = JobTemplate(remote_command="sh", args=["-c", "echo 'a b'"], job_name="n", timeout=2.5,
                           job_environment={"K": "v"}, resource_limits={"memory_mb": 64}, retries=2)
    job = JobInfo(id="7.2", session="s", backend="process", state=JobState.SUSPENDED, template=template,
                  native_id="123", submission_time=10.5, dispatch_time=11.0, backend_data={"pid": 123},
                  after=["3"], after_mode="any", attempts=[{"state": "failed", "exit_status": 1}])
    _stored(store, job)
    with store.transaction() as txn:
        assert txn.get("7.2") == job  # the transaction reads its own writes
    assert store.snapshot().get("7.2") == job
    assert store.snapshot().find("7.3") is None and store.snapshot().find("x") is None
    with pytest.raises(JobNotFound, match="unknown job id 8"):
        store.snapshot().get("8")


def test_nothing_is_written_when_the_transaction_fails(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, _job(1))
    before = (tmp_path / "jobs.json").read_bytes()
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put(_job(1, JobState.DONE))
        txn.allocate()
        raise RuntimeError("the body failed")
    assert (tmp_path / "jobs.json").read_bytes() == before


def test_a_snapshot_is_one_moment_of_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, _job(1))
    snap = store.snapshot()
    with store.transaction() as txn:
        txn.put(_job(1, JobState.DONE, exit_status=0))
    assert snap.get("1").state is JobState.RUNNING
    assert store.snapshot().get("1").state is JobState.DONE


def test_an_update_merges_fields_and_writes_backend_data_whole(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, _job(1, native_id="n1", backend_data={"mark": {"at": 5}, "pid": 9}))
    with store.transaction() as txn:
        txn.put(_job(1, machine="m", backend_data={"pid": 9}))  # native_id None: left as it was
    now = store.snapshot().get("1")
    assert (now.native_id, now.machine, now.backend_data) == ("n1", "m", {"pid": 9})
    with store.transaction() as txn:
        txn.clear("1", "native_id")
    assert store.snapshot().get("1").native_id is None


def test_drmaa2_kill_s_request_outlives_a_copy_read_before_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, _job(1, backend_data={"pid": 9, "terminate_requested": 42.0}))
    with store.transaction() as txn:
        txn.put(_job(1, JobState.FAILED, signal=15, backend_data={"pid": 9}))
    assert store.snapshot().get("1").backend_data == {"pid": 9, "terminate_requested": 42.0}


def test_finished_records_leave_the_live_file_in_batches(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, *[_job(n, JobState.DONE, exit_status=0) for n in range(1, ARCHIVE_BATCH)], _job(900))
    assert len(_live(tmp_path)["jobs"]) == ARCHIVE_BATCH and not (tmp_path / "archive").exists()
    _stored(store, _job(ARCHIVE_BATCH, JobState.FAILED, session="other", exit_status=2))
    assert [r["id"] for r in _live(tmp_path)["jobs"].values()] == ["900"]
    assert _live(tmp_path)["_meta"]["1"]["archived"] == {"default": {"done": ARCHIVE_BATCH - 1},
                                                         "other": {"failed": 1}}
    snap = store.snapshot()
    assert snap.get("1").exit_status == 0 and snap.get(str(ARCHIVE_BATCH)).session == "other"
    assert [r["id"] for r in snap.archived_records()][:2] == [str(ARCHIVE_BATCH), str(ARCHIVE_BATCH - 1)]
    assert stat.S_IMODE(os.stat(tmp_path / "archive").st_mode) == 0o700


def test_removal_reaches_archived_records_and_their_counts(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, *[_job(n, JobState.DONE) for n in range(1, ARCHIVE_BATCH + 1)], _job(99))
    with store.transaction() as txn:
        assert txn.remove(["1", "2", "99", "12345", "nonsense"]) == 3
    snap = store.snapshot()
    assert snap.find("1") is None and snap.find("99") is None and snap.find("3") is not None
    assert _live(tmp_path)["_meta"]["1"]["archived"] == {"default": {"done": ARCHIVE_BATCH - 2}}


def test_an_array_s_tasks_are_found_live_and_archived(tmp_path: Path) -> None:
    store = Store(tmp_path)
    tasks = [_job(f"5.{i}", JobState.DONE) for i in range(1, ARCHIVE_BATCH + 1)]
    _stored(store, *tasks, _job("50"), _job("5"))  # "50" is not a task of 5; "5" is the job itself
    _stored(store, _job("5.99"))
    found = sorted(t.id for t in store.snapshot().tasks(5))
    assert found == sorted(["5", "5.99", *(t.id for t in tasks)])


def test_sessions_are_recorded_once_with_their_contact(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as txn:
        assert txn.add_session("b", contact="docker")
        assert txn.add_session("a")
        assert not txn.add_session("b", contact="process")
        assert not txn.add_session("default")  # always there
    snap = store.snapshot()
    assert snap.session_names() == ["a", "b", "default"]
    assert (snap.session_contact("b"), snap.session_contact("a")) == ("docker", None)
    with store.transaction() as txn:
        txn.remove_session("b")
    assert store.snapshot().session_names() == ["a", "default"]


def test_the_next_writer_removes_what_a_killed_writer_left(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _stored(store, _job(1))
    (tmp_path / "archive").mkdir()
    left = [tmp_path / ".jobs.json.4242.tmp", tmp_path / "archive" / ".000000.json.17.tmp"]
    kept = [tmp_path / "notes.tmp", tmp_path / ".jobs.json.tmp"]
    for path in left + kept:
        path.write_text("{")
    _stored(store, _job(2))
    assert [p.exists() for p in left + kept] == [False, False, True, True]


def test_a_store_of_schema_version_1_still_loads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    store = Store(home)
    snap = store.snapshot()
    first = snap.get("1")
    assert (first.name, first.state, first.exit_status, first.template.argv) == (
        "fixture-1", JobState.FAILED, 1, ["sh", "-c", "exit 1"])
    assert sorted(t.id for t in snap.tasks(35)) == ["35.1", "35.2", "35.3"]
    assert snap.session_names() == ["default", "other"]
    assert len(list(snap.archived_records())) == 37 and len(list(snap.live_records())) == 1
    with store.transaction() as txn:
        assert txn.allocate() == 37  # ids continue, never reused
    # The on-disk keys are what this version writes: every record reads and writes back unchanged.
    for path in (home / "jobs.json", home / "archive" / "000000.json"):
        for record in json.loads(path.read_text())["jobs"].values():
            assert JobInfo.from_record(record).to_record() == record


def _write(store: Store) -> None:
    with store.transaction() as txn:
        txn.allocate()


def _meta(**changes: Any) -> dict[str, Any]:
    return {"schema_version": 1, "next_job": 2, "instance": "abcd1234", **changes}


def _record(**changes: Any) -> dict[str, Any]:
    return {"id": "1", "session": "default", "backend": "process", "state": "done", "template": {}, **changes}


@pytest.mark.parametrize(("content", "words"), [
    (b'{"_meta": ', "is not valid JSON"),
    (b"[1, 2]", "is not a drmaa2 job store"),
    (json.dumps({"_meta": {"1": {"next_job": 1}}}).encode(), "is not a drmaa2 job store"),
    (json.dumps({"_meta": {"1": _meta(schema_version=99)}}).encode(), "has schema version 99, newer than"),
    (json.dumps({"_meta": {"1": _meta(schema_version="1")}}).encode(), "its schema version is not a number"),
    (json.dumps({"_meta": {"1": _meta(next_job="2")}}).encode(), "its next job number or instance id"),
    (json.dumps({"_meta": {"1": _meta()}, "jobs": []}).encode(), "table 'jobs' is not an object"),
])
def test_a_damaged_live_file_is_named_with_its_problem_and_left_untouched(tmp_path: Path, content: bytes,
                                                                         words: str) -> None:
    (tmp_path / "jobs.json").write_bytes(content)
    store = Store(tmp_path)
    for read in (store.snapshot, lambda: _write(store)):
        with pytest.raises(StoreError, match=str(tmp_path / "jobs.json")) as caught:
            read()
        assert words in str(caught.value)
    assert (tmp_path / "jobs.json").read_bytes() == content


@pytest.mark.parametrize(("record", "words"), [
    (_record(state="weird"), "unknown state 'weird'"),
    (_record(exit_status="3"), "exit_status has the wrong type"),
    (_record(template={"args": [1]}), "an argument is not a string"),
])
def test_a_damaged_record_of_the_live_file_is_set_aside_and_named(tmp_path: Path, record: dict[str, Any],
                                                                  words: str) -> None:
    sound = _record(id="2")
    (tmp_path / "jobs.json").write_text(json.dumps({"_meta": {"1": _meta(next_job=3)},
                                                    "jobs": {"1": record, "2": sound}}))
    warned: list[str] = []
    store = Store(tmp_path, warn=warned.append)
    with pytest.raises(JobNotFound):
        store.snapshot().get("1")
    assert store.snapshot().get("2").state is JobState.DONE
    assert len(warned) == 1 and "job record '1'" in warned[0] and words in warned[0]


def test_a_damaged_record_of_an_archive_shard_is_set_aside_when_it_is_read(tmp_path: Path) -> None:
    warned: list[str] = []
    store = Store(tmp_path, warn=warned.append)
    _stored(store, *[_job(n, JobState.DONE) for n in range(1, ARCHIVE_BATCH + 1)])
    shard = tmp_path / "archive" / "000000.json"
    data = json.loads(shard.read_text())
    next(iter(data["jobs"].values()))["session"] = 5
    shard.write_text(json.dumps(data))
    with pytest.raises(JobNotFound):
        store.snapshot().get("1")
    assert store.snapshot().get("2").state is JobState.DONE
    assert len(warned) == 1 and "000000.json is damaged (session is missing" in warned[0], warned


def test_find_many_reads_live_and_archived_records_in_one_pass(tmp_path: Path) -> None:
    from drmaa2cli.models import JobInfo, JobState, JobTemplate
    from drmaa2cli.store import Store

    store = Store(tmp_path)
    with store.transaction() as txn:
        done = [JobInfo(id=str(txn.allocate()), session="s", backend="process", state=JobState.DONE,
                        template=JobTemplate(remote_command="true")) for _ in range(40)]
        txn.put_many(done)
    with store.transaction() as txn:
        live = JobInfo(id=str(txn.allocate()), session="s", backend="process", state=JobState.QUEUED,
                       template=JobTemplate(remote_command="true"))
        txn.put(live)
    found = store.snapshot().find_many([done[0].id, done[39].id, live.id, "999", "x"])
    assert sorted(found) == sorted([done[0].id, done[39].id, live.id])
    assert found[live.id].state is JobState.QUEUED and found[done[0].id].state is JobState.DONE

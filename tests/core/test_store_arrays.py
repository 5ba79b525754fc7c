"""Arrays in files of their own (``store/arrays.py``): the live file keeps only single jobs whatever the arrays
beside it, an array's tasks are read and written in its file, an ended array is counted as archived, and a live
file written before (tasks among its records) still loads and is migrated by the first write."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.store import Store


def _task(job_id: str, state: JobState = JobState.QUEUED_HELD, session: str = "default") -> JobInfo:
    return JobInfo(id=job_id, session=session, backend="process", state=state,
                   template=JobTemplate(remote_command="true"), submission_time=1.0)


def _file(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _array(store: Store, size: int, state: JobState = JobState.QUEUED_HELD) -> int:
    with store.transaction() as txn:
        number = txn.allocate()
        txn.put_many([_task(f"{number}.{i}", state) for i in range(1, size + 1)])
    return number


def test_an_array_s_tasks_live_in_its_own_file_and_a_submit_beside_it_does_not_read_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    number = _array(store, 300)
    array_file = tmp_path / "arrays" / f"{number}.json"
    assert stat.S_IMODE(os.stat(array_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "arrays").st_mode) == 0o700
    live = _file(tmp_path / "jobs.json")
    assert live.get("jobs", {}) == {} and live["_meta"]["1"]["arrays"] == [number]
    before = array_file.stat().st_mtime_ns, array_file.stat().st_ino
    with store.transaction() as txn:
        single = str(txn.allocate())
        txn.put(_task(single, JobState.QUEUED))
        assert txn._arrays == {}  # a submit beside the array read nothing of it
    assert (array_file.stat().st_mtime_ns, array_file.stat().st_ino) == before
    snap = store.snapshot()
    assert snap.get(f"{number}.17").state is JobState.QUEUED_HELD and snap.get(single).state is JobState.QUEUED
    assert len(snap.tasks(number)) == 300 and len(list(snap.live_records())) == 301
    assert [r["id"] for r in snap.single_records()] == [single]


def test_changes_of_tasks_follow_the_rules_of_every_record(tmp_path: Path) -> None:
    store = Store(tmp_path)
    number = _array(store, 3)
    with store.transaction() as txn:
        first = txn.get(f"{number}.1")
        txn.put(first.evolve(state=JobState.FAILED, annotation="killed", backend_data={"terminate_requested": 15}))
        txn.put(txn.get(f"{number}.2").evolve(state=JobState.RUNNING, annotation="note"))
    with store.transaction() as txn:
        txn.put(first.evolve(state=JobState.RUNNING))  # a final record is never changed
        # A new state with no annotation drops the stored one.
        txn.put(txn.get(f"{number}.2").evolve(state=JobState.SUSPENDED, annotation=None))
        txn.put(_task(f"{number}.99"), create=False)  # not brought into being
        txn.clear(f"{number}.3", "submission_time")
    snap = store.snapshot()
    assert snap.get(f"{number}.1").state is JobState.FAILED and snap.find(f"{number}.99") is None
    assert snap.get(f"{number}.2").annotation is None and snap.get(f"{number}.3").submission_time is None
    assert sorted(snap.find_many([f"{number}.1", f"{number}.3", f"{number}.4", "77"])) == [f"{number}.1",
                                                                                          f"{number}.3"]


def test_an_ended_array_is_counted_archived_and_back_when_a_task_runs_again(tmp_path: Path) -> None:
    store = Store(tmp_path)
    number = _array(store, 4)
    with store.transaction() as txn:
        txn.put_many([t.evolve(state=JobState.DONE) for t in txn.tasks(number)])
    meta = _file(tmp_path / "jobs.json")["_meta"]["1"]
    assert meta["arrays"] == [] and meta["archived"] == {"default": {"done": 4}}
    snap = store.snapshot()
    assert list(snap.live_records()) == [] and len(list(snap.archived_records())) == 4
    with store.transaction() as txn:  # drmaa2 requeue of one task
        txn.revive(replace(txn.get(f"{number}.2"), state=JobState.QUEUED, attempts=[{"state": "done"}]))
    meta = _file(tmp_path / "jobs.json")["_meta"]["1"]
    assert meta["arrays"] == [number] and meta["archived"] == {"default": {"done": 0}}
    assert store.snapshot().get(f"{number}.2").state is JobState.QUEUED
    with store.transaction() as txn:
        assert txn.remove([f"{number}.2", f"{number}.3"]) == 2
    meta = _file(tmp_path / "jobs.json")["_meta"]["1"]
    assert meta["arrays"] == [] and meta["archived"] == {"default": {"done": 2}}
    with store.transaction() as txn:
        assert txn.remove([f"{number}.1", f"{number}.4"]) == 2
    assert not (tmp_path / "arrays" / f"{number}.json").exists()
    assert _file(tmp_path / "jobs.json")["_meta"]["1"]["archived"] == {"default": {"done": 0}}


def test_a_live_file_written_before_arrays_had_files_loads_and_is_migrated_by_the_first_write(
        tmp_path: Path) -> None:
    def record(job_id: str, state: str) -> dict[str, Any]:
        return {"id": job_id, "session": "old", "backend": "process", "state": state,
                "template": {"remote_command": "sleep", "args": ["9"]}, "backend_data": {}}

    # The live file as the versions before wrote it: an array's tasks among the single jobs' records.
    old = {"_meta": {"1": {"schema_version": 1, "next_job": 9, "instance": "0badc0de", "archived": {},
                           "created": 1.0}},
           "sessions": {"1": {"name": "old", "created": 1.0}},
           "jobs": {"1": record("7", "running"), "2": record("8.1", "done"), "3": record("8.2", "queued_held"),
                    "4": record("8.3", "running")}}
    (tmp_path / "jobs.json").write_text(json.dumps(old))
    store = Store(tmp_path)
    snap = store.snapshot()  # a reader takes the old file as it is
    assert sorted(t.id for t in snap.tasks(8)) == ["8.1", "8.2", "8.3"] and snap.get("8.2").state.held
    with store.transaction() as txn:
        assert txn.allocate() == 9
    live = _file(tmp_path / "jobs.json")
    assert [r["id"] for r in live["jobs"].values()] == ["7"] and live["_meta"]["1"]["arrays"] == [8]
    moved = _file(tmp_path / "arrays" / "8.json")["jobs"]
    assert moved == {"1": record("8.1", "done"), "2": record("8.2", "queued_held"), "3": record("8.3", "running")}
    snap = store.snapshot()
    assert sorted(t.id for t in snap.tasks(8)) == ["8.1", "8.2", "8.3"]
    assert snap.get("8.3").state is JobState.RUNNING and snap.get("7").template.args == ["9"]
    assert snap.session_names() == ["default", "old"] and len(list(snap.live_records())) == 4


def test_a_damaged_task_is_set_aside_and_the_array_s_others_stay(tmp_path: Path) -> None:
    warned: list[str] = []
    store = Store(tmp_path, warn=warned.append)
    number = _array(store, 3)
    path = tmp_path / "arrays" / f"{number}.json"
    data = _file(path)
    data["jobs"]["2"]["state"] = "weird"
    path.write_text(json.dumps(data))
    assert sorted(t.id for t in store.snapshot().tasks(number)) == [f"{number}.1", f"{number}.3"]
    assert len(warned) == 1 and f"{path} is damaged (unknown state 'weird')" in warned[0]
    assert "2" not in _file(path)["jobs"]  # the reader had the store moved it at once (nobody held the lock)
    from drmaa2cli.store import quarantine

    assert [e["record"]["id"] for e in quarantine.entries(store)] == [f"{number}.2"]


def test_kill_s_mark_is_set_in_the_records_of_jobs_not_ended(tmp_path: Path) -> None:
    store = Store(tmp_path)
    number = _array(store, 3)
    with store.transaction() as txn:
        single = str(txn.allocate())
        txn.put_many([_task(single, JobState.RUNNING), txn.get(f"{number}.3").evolve(state=JobState.DONE)])
    with store.transaction() as txn:
        txn.set_data([f"{number}.1", f"{number}.3", single, "404"], "terminate_requested", 9)
    snap = store.snapshot()
    assert [snap.get(i).backend_data for i in (f"{number}.1", f"{number}.2", f"{number}.3", single)] == [
        {"terminate_requested": 9}, {}, {}, {"terminate_requested": 9}]


def test_the_array_file_of_a_writer_killed_before_the_live_file_is_nobody_s(tmp_path: Path) -> None:
    """An array's file is written before the live file: a writer killed between the two leaves the file of a
    number never given. Readers do not count it, and the writer next given that number removes it."""
    store = Store(tmp_path)
    number = _array(store, 2)
    orphan = number + 1  # what the killed writer was given; the live file's next job is still that
    text = (tmp_path / "arrays" / f"{number}.json").read_text().replace(f'"{number}.', f'"{orphan}.')
    (tmp_path / "arrays" / f"{orphan}.json").write_text(text)
    snap = store.snapshot()
    assert snap.archived_arrays() == [] and list(snap.archived_records()) == []
    with store.transaction() as txn:
        assert txn.allocate() == orphan
        txn.put(_task(str(orphan), JobState.QUEUED))
    assert not (tmp_path / "arrays" / f"{orphan}.json").exists()
    snap = store.snapshot()
    assert list(snap.find_many([str(orphan), f"{orphan}.1"])) == [str(orphan)]
    assert snap.archived_arrays() == [] and len(snap.tasks(number)) == 2

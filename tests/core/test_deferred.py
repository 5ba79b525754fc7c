"""The deferred family in-process (no CLI, no runner process but where a launch spawns one and aborts it): the
mark, control of held jobs, attempts, a slot pool's choice, and the wrapper's decisions."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli import mark
from drmaa2cli.backends.base import Backend, BackendContext, Launch
from drmaa2cli.deferred import held, queues, retries
from drmaa2cli.deferred.launch import LaterLaunch, Timed
from drmaa2cli.deferred.wrapper import StartLater, wrap
from drmaa2cli.errors import InvalidArgument, InvalidState, UnsupportedAttribute
from drmaa2cli.models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from drmaa2cli.store import Store


class _Launch(Launch):
    def __init__(self, template: JobTemplate) -> None:
        self.template = template

    def bind(self, job: JobInfo) -> None:
        job.native_id = "native"

    def start(self, job: JobInfo) -> JobInfo | None:
        return None


class _Platform(Backend):
    """A backend that starts nothing: what the wrapper hands it is recorded."""

    name = "process"
    native_features = frozenset({"array"})
    unsupported_fields = ("queue_name",)
    local_refresh = True

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.prepared: list[tuple[JobTemplate, dict[str, object]]] = []

    def prepare(self, template: JobTemplate, *, array: ArraySpec | None = None,
                after: Dependencies | None = None) -> Launch:
        self.prepared.append((template, {"array": array, "after": after}))
        return _Launch(template)

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        return []

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        pass

    def terminate(self, job: JobInfo, signal: int | None) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


@pytest.fixture
def platform(tmp_path: Path) -> _Platform:
    return _Platform(BackendContext(tmp_path))


def _job(store: Store, state: JobState = JobState.QUEUED, **data: Any) -> JobInfo:
    with store.transaction() as txn:
        job = JobInfo(id=str(txn.allocate()), session="s", backend="process", state=state,
                      template=JobTemplate(remote_command="true"), backend_data=dict(data))
        txn.put(job)
    return job


# --- the mark ------------------------------------------------------------------------------------------
def test_the_mark_is_checked_by_its_own_types() -> None:
    good = mark.new((10, 20), ["1"], "any", 2, "fast", time.time())
    assert mark.check_data({mark.KEY: good}) is None
    assert mark.check_data({mark.KEY: None}) is None and mark.check_data({}) is None
    assert mark.check_data({mark.KEY: []}) == "backend data deferred has the wrong type"
    assert mark.check_data({mark.KEY: {**good, "runner": "10"}}) == "backend data runner has the wrong type"
    assert mark.check_data({mark.KEY: {**good, "max_parallel": True}}) is not None  # JSON true is no number
    assert mark.check_data({mark.KEY: {**good, "after": [1]}}) == "a dependency is not a job id"


def test_the_waiting_note_says_why_a_job_waits() -> None:
    later = mark.new((1, 1), begin=time.time() + 3600)
    note = mark.waiting_note(later)
    assert note is not None and note.startswith("waiting until ")
    assert mark.waiting_note(mark.new((1, 1), slots="fast")) == mark.WAITING_FOR_SLOT
    assert mark.waiting_note(mark.new((1, 1), begin=time.time() - 1)) is None
    assert mark.waiting_note(mark.new((1, 1), ["3"])) is None


def test_a_job_is_held_by_the_runner_its_mark_names_until_it_ends() -> None:
    job = JobInfo(id="1", session="s", backend="process", backend_data={mark.KEY: mark.new((7, 8))})
    assert mark.waiting(job) and mark.held_by(job, (7, 8)) and not mark.held_by(job, (7, 9))
    assert not mark.held_by(job.evolve(state=JobState.FAILED), (7, 8))
    assert mark.without_mark(job) == {} and mark.of(job)["runner"] == 7
    assert not mark.runner_alive(job)  # pid 7 started at tick 8 is no process of this test
    assert mark.session_pool("ci") == "session:ci"


# --- control of held jobs ------------------------------------------------------------------------------
def test_kill_hold_and_release_of_a_held_job_change_its_record_only() -> None:
    job = JobInfo(id="1", session="s", backend="process", state=JobState.QUEUED)
    killed = held.controlled(job, "terminate")
    assert killed.state is JobState.FAILED and killed.finish_time is not None and killed.annotation
    on_hold = held.controlled(job, "hold")
    assert on_hold.state is JobState.QUEUED_HELD
    assert held.controlled(on_hold, "release").state is JobState.QUEUED
    retry = job.evolve(state=JobState.REQUEUED)
    assert held.controlled(retry, "hold").state is JobState.REQUEUED_HELD
    with pytest.raises(InvalidState, match="not held"):
        held.controlled(job, "release")
    with pytest.raises(InvalidState, match="has not started"):
        held.controlled(job, "suspend")


def test_a_held_job_its_runner_started_meanwhile_is_not_written_over(store: Store) -> None:
    waiting = _job(store, **{mark.KEY: mark.new((1, 1))})
    started = _job(store, **{mark.KEY: mark.new((1, 1))})
    with store.transaction() as txn:  # the runner took the second one: its mark is gone
        txn.put(started.evolve(backend_data={}, state=JobState.RUNNING))
    taken = held.put(store, [held.controlled(waiting, "hold"), held.controlled(started, "hold")])
    assert [j.id for j in taken] == [started.id] and taken[0].state is JobState.RUNNING
    snap = store.snapshot()
    assert snap.get(waiting.id).state is JobState.QUEUED_HELD
    assert snap.get(started.id).state is JobState.RUNNING


# --- attempts ------------------------------------------------------------------------------------------
def _failed(store: Store, retries_: int, **data: Any) -> JobInfo:
    template = JobTemplate(remote_command="false", retries=retries_, retry_delay=5.0)
    running = _job(store, **data).evolve(state=JobState.RUNNING, template=template)
    with store.transaction() as txn:
        txn.put(running)
    return running.evolve(state=JobState.FAILED, exit_status=3, finish_time=1000.0)


def test_a_failed_attempt_with_retries_left_becomes_the_next_attempt_held_back(store: Store) -> None:
    job = _failed(store, 2, **{mark.RETRIER: [11, 12]})
    assert retries.retry_due(job)
    nxt = retries.retried(job, mark.new((11, 12)))
    assert nxt.state is JobState.REQUEUED and nxt.attempt == 2 and nxt.exit_status is None
    assert mark.of(nxt)["begin"] == 1005.0 and nxt.backend_data[mark.RETRIER] == [11, 12]
    assert nxt.attempts == [{"state": "failed", "exit_status": 3, "finish_time": 1000.0}]
    assert nxt.annotation is not None and "retry 1 of 2" in nxt.annotation and "exit status 3" in nxt.annotation
    assert retries.record_retry(store, job, (11, 12), None)
    assert store.snapshot().get(job.id).state is JobState.REQUEUED


def test_no_retry_for_a_killed_job_or_one_out_of_retries(store: Store) -> None:
    job = _failed(store, 1)
    assert not retries.retry_due(job.evolve(backend_data={"terminate_requested": 15}))
    assert not retries.retry_due(job.evolve(attempts=[{"state": "failed"}]))  # attempt 2 of 1 retry
    assert not retries.retry_due(job.evolve(exit_status=None))  # never ran
    with store.transaction() as txn:
        txn.put(job.evolve(backend_data={"terminate_requested": 15}))
    assert not retries.record_retry(store, job, (1, 1), None)
    ended = job.evolve(attempts=[{"state": "failed"}])
    assert retries.with_count(ended).annotation == "2 attempts ran"


# --- slots ---------------------------------------------------------------------------------------------
def _waiting(number: int, priority: int = 0, begin: float | None = None, limit: int | None = None) -> JobInfo:
    held_mark = mark.new((1, 1), max_parallel=limit, slots="q", begin=begin)
    return JobInfo(id=str(number), session="s", backend="process", state=JobState.QUEUED,
                   template=JobTemplate(remote_command="true", priority=priority),
                   backend_data={mark.KEY: held_mark})


def test_free_slots_go_to_the_highest_priority_then_the_oldest() -> None:
    jobs = [_waiting(1), _waiting(2, priority=5), _waiting(3), _waiting(4, begin=time.time() + 3600)]
    chosen = queues._choose(jobs, 2, [], time.time())
    assert [j.id for j in chosen] == ["2", "1"]
    assert queues._choose(jobs, 0, [], time.time()) == []


def test_an_array_in_a_pool_keeps_to_its_own_limit() -> None:
    tasks = [_waiting(7, limit=1).evolve(id=f"7.{i}") for i in (1, 2, 3)]
    busy = [{"id": "7.9"}]
    assert queues._choose(tasks, 3, busy, time.time()) == []
    assert [j.id for j in queues._choose(tasks, 3, [], time.time())] == ["7.1"]


# --- the wrapper ---------------------------------------------------------------------------------------
def test_the_wrapper_carries_the_real_backend_s_declarations(platform: _Platform, store: Store) -> None:
    wrapped = wrap(platform, store)
    assert isinstance(wrapped, StartLater)
    assert (wrapped.name, wrapped.unsupported_fields, wrapped.local_refresh) == ("process", ("queue_name",), True)
    assert wrapped.native_features == StartLater.native_features  # the wrapper does every kind of start itself


def test_what_the_platform_does_itself_goes_to_it_at_once(platform: _Platform, store: Store) -> None:
    wrapped = wrap(platform, store)
    array = ArraySpec(1, 4)
    launch = wrapped.prepare(JobTemplate(remote_command="true"), array=array)
    assert isinstance(launch, _Launch) and platform.prepared[-1][1]["array"] is array


def test_a_hold_the_platform_cannot_do_is_left_to_a_runner(platform: _Platform, store: Store) -> None:
    wrapped = wrap(platform, store)
    launch = wrapped.prepare(JobTemplate(remote_command="true", submit_as_hold=True))
    try:
        assert isinstance(launch, LaterLaunch)
    finally:
        launch.abort()  # the runner reads the end of its input and exits


def test_a_deadline_becomes_the_time_left_to_run(platform: _Platform, store: Store) -> None:
    wrapped = wrap(platform, store)
    launch = wrapped.prepare(JobTemplate(remote_command="true", deadline_time=time.time() + 100))
    assert isinstance(launch, Timed) and launch.timeout is not None and 90 < launch.timeout <= 100
    with pytest.raises(InvalidArgument, match="has passed"):
        wrapped.prepare(JobTemplate(remote_command="true", deadline_time=time.time() - 1))


def test_a_local_queue_is_the_core_s_and_a_scheduler_s_queue_its_own(platform: _Platform, store: Store) -> None:
    wrapped = wrap(platform, store, queues={"fast": 2}, session_slots={"ci": 1})
    template = JobTemplate(remote_command="true", queue_name="fast")
    assert wrapped.pool(template, "ci") == "fast"  # a local queue's slots only
    assert wrapped.pool(JobTemplate(remote_command="true"), "ci") == "session:ci"
    assert wrapped.for_platform(template).queue_name is None
    with pytest.raises(UnsupportedAttribute, match=r"\[queues.other\]"):
        wrapped.local_queue(JobTemplate(remote_command="true", queue_name="other"))

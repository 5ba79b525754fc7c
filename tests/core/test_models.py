"""The job's model in-process (``drmaa2cli.models``): a record written and read back is the same job, a final
state is never left, and the JSON contract for scripts (``--json``) says what the README promises."""

from __future__ import annotations

from typing import Any

import pytest

from drmaa2cli.models import ACTIVE_STATES, ATTEMPT_FIELDS, ArraySpec, JobInfo, JobState, JobTemplate


def _full() -> JobInfo:
    template = JobTemplate(
        remote_command="sh", args=["-c", "exit 3"], job_name="n", working_directory="/w",
        job_environment={"K": "v w"}, input_path="/in", output_path="/o", error_path="/e", join_files=True,
        job_category="img", submit_as_hold=True, timeout=1.5, queue_name="q", priority=-2, start_time=100.0,
        deadline_time=200.0, resource_limits={"memory_mb": 64, "cpus": 0.5}, stage_in_files={"/a": "/b:ro"},
        extension={"native": ["--x"]}, candidate_machines=["n1"], min_phys_memory=1024, accounting_id="acct",
        stage_out_files={"/c": "/d"}, retries=2, retry_delay=0.5, comment="a note", email=["me@h"],
        mail_types=["END"], notify_command="echo",
    )
    return JobInfo(
        id="12.3", session="s", backend="docker", state=JobState.FAILED, template=template, native_id="abc",
        annotation="exited with status 3", exit_status=3, signal=None, submission_time=1.25, dispatch_time=2.5,
        finish_time=4.0, cpu_time=0.1234, max_rss=2048, machine="m", submission_machine="sm", job_owner="me",
        output_path="/o", error_path="/e", backend_data={"container": "x"}, after=["9"], after_mode="ok",
        attempts=[{"state": "failed", "exit_status": 1, "dispatch_time": 0.5}],
    )


def test_every_field_survives_a_record_round_trip() -> None:
    job = _full()
    record = job.to_record()
    assert JobInfo.from_record(record) == job
    assert set(record["template"]) == set(JobTemplate.__dataclass_fields__)  # every field was set


def test_a_record_keeps_only_what_was_set_but_always_its_backend_data() -> None:
    record = JobInfo(id="1", session="default", backend="process").to_record()
    assert record == {"id": "1", "session": "default", "backend": "process", "state": "undetermined",
                      "template": {}, "backend_data": {}}


def test_a_record_of_another_version_reads_without_its_unknown_keys() -> None:
    record: dict[str, Any] = {"id": "4", "session": "default", "backend": "process", "colour": "red",
                              "template": {"remote_command": "true", "gpus": 2}}
    job = JobInfo.from_record(record)
    assert (job.state, job.template) == (JobState.UNDETERMINED, JobTemplate(remote_command="true"))
    assert "colour" in record  # the caller's dict is not changed


def test_a_final_state_is_never_left() -> None:
    done = JobInfo(id="1", session="s", backend="b", state=JobState.DONE, exit_status=0)
    later = done.evolve(state=JobState.RUNNING, annotation="a stale copy")
    assert later.state is JobState.DONE and later.annotation == "a stale copy"
    running = JobInfo(id="1", session="s", backend="b", state=JobState.RUNNING)
    assert running.evolve(state=JobState.FAILED).state is JobState.FAILED
    assert running.state is JobState.RUNNING  # evolve copies


def test_states_final_held_and_active() -> None:
    assert {s for s in JobState if s.final} == {JobState.DONE, JobState.FAILED}
    assert {s for s in JobState if s.held} == {JobState.QUEUED_HELD, JobState.REQUEUED_HELD}
    assert set(ACTIVE_STATES) == set(JobState) - {JobState.DONE, JobState.FAILED}


@pytest.mark.parametrize(("exit_status", "signal", "code"), [(0, None, 0), (3, None, 3), (None, 9, 137),
                                                            (3, 15, 143), (None, None, None)])
def test_the_exit_code_a_shell_would_show(exit_status: int | None, signal: int | None, code: int | None) -> None:
    assert JobInfo(id="1", session="s", backend="b", exit_status=exit_status, signal=signal).exit_code() == code


def test_the_json_contract_for_scripts() -> None:
    public = _full().to_public()
    assert public["command"] == ["sh", "-c", "exit 3"] and public["exit_code"] == 3
    assert (public["submission_time"], public["finish_time"]) == ("1970-01-01T00:00:01.250Z",
                                                                  "1970-01-01T00:00:04.000Z")
    assert (public["wallclock_time"], public["cpu_time"], public["attempt"]) == (1.5, 0.123, 2)
    assert public["attempts"] == [{**dict.fromkeys(ATTEMPT_FIELDS), "state": "failed", "exit_status": 1,
                                   "dispatch_time": "1970-01-01T00:00:00.500Z"}]
    assert (public["queue"], public["priority"], public["start_time"]) == ("q", -2, "1970-01-01T00:01:40.000Z")
    running = JobInfo(id="2", session="s", backend="b", state=JobState.RUNNING, exit_status=0).to_public()
    assert running["exit_code"] is None and running["attempt"] == 1 and running["attempts"] == []


def test_ids_numbers_and_the_run_of_each_attempt() -> None:
    task = JobInfo(id="12.3", session="s", backend="b")
    assert (task.number, task.run_id, task.attempt) == (12, "12.3", 1)
    again = task.evolve(attempts=[{"state": "failed"}])
    assert (again.run_id, again.attempt) == ("12.3r2", 2)


def test_an_array_s_indices() -> None:
    assert list(ArraySpec(1, 9, 4).indices) == [1, 5, 9]
    assert list(ArraySpec(1, 9, only=(1, 3, 9)).indices) == [1, 3, 9]


@pytest.mark.parametrize(("state", "exit_status", "signal", "source"), [
    (JobState.DONE, 0, None, "job"), (JobState.FAILED, 124, None, "job"), (JobState.FAILED, None, 15, "job"),
    (JobState.FAILED, None, None, "drmaa2"), (JobState.RUNNING, None, None, None)])
def test_whose_exit_code_it_is(state: JobState, exit_status: int | None, signal: int | None,
                               source: str | None) -> None:
    job = JobInfo(id="1", session="s", backend="b", state=state, exit_status=exit_status, signal=signal)
    assert job.exit_code_from() == source == job.to_public()["exit_code_from"]

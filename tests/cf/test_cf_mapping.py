"""The cf backend's pure mappings: task states and failure reasons, log envelopes in both protojson shapes,
command lines, token expiry and redaction."""

from __future__ import annotations

import base64
import json
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drmaa2cli.backends.cf.auth import redact, token_expiry
from drmaa2cli.backends.cf.client import decode_envelope, retry_after
from drmaa2cli.backends.cf.map import command_line, failure, task_changes
from drmaa2cli.models import JobInfo, JobState, JobTemplate


@pytest.mark.parametrize(
    ("reason", "status", "signal", "annotation"),
    [
        ("APP/TASK/abc: Exited with status 3", 3, None, "exited with status 3"),
        ("Exited with status 1", 1, None, "exited with status 1"),
        ("Exited with status 127", 127, None, "exited with status 127 (command not found)"),
        ("Exited with status 143", None, 15, "killed by signal 15 (SIGTERM)"),
        ("APP/TASK/x: Exited with status 137 (out of memory)", 137, None, "OOM killed (exited with status 137)"),
        ("task was cancelled", None, None, "task was cancelled"),
        ("Task expired in PENDING state", None, None, "Task expired in PENDING state"),
        ("Unable to determine completion status", None, None, "Unable to determine completion status"),
        (None, None, None, "task failed (no reason given)"),
    ],
)
def test_failure_reasons(reason: str | None, status: int | None, signal: int | None, annotation: str) -> None:
    assert failure(reason) == (status, signal, annotation)


def job(state: JobState = JobState.QUEUED, native_id: str | None = None) -> JobInfo:
    return JobInfo(
        id="7",
        session="s",
        backend="cf",
        state=state,
        native_id=native_id,
        template=JobTemplate(remote_command="true", job_category="worker"),
    )


def task(state: str, reason: str | None = None) -> dict[str, object]:
    return {
        "guid": "g",
        "state": state,
        "result": {"failure_reason": reason},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:05Z",
    }


def test_states() -> None:
    assert task_changes(job(), task("PENDING"), 0)["state"] is JobState.QUEUED
    found = job(JobState.UNDETERMINED, "g")  # a task drmaa2 finds started: it started at its created_at
    running = task_changes(found, task("RUNNING"), 0)
    assert running["state"] is JobState.RUNNING and running["dispatch_time"] == 1767225600.0
    canceling = task_changes(job(JobState.RUNNING, "g"), task("CANCELING"), 0)
    assert canceling["state"] is JobState.RUNNING and canceling["annotation"] == "cancel requested"
    done = task_changes(found, task("SUCCEEDED"), 0)
    assert (done["state"], done["exit_status"], done["annotation"]) == (JobState.DONE, 0, None)
    assert done["finish_time"] - done["dispatch_time"] == 5
    failed = task_changes(job(), task("FAILED", "APP/TASK/t: Exited with status 2"), 0)
    assert (failed["state"], failed["exit_status"]) == (JobState.FAILED, 2)
    assert task_changes(job(), task("WEIRD"), 0)["state"] is JobState.UNDETERMINED


def test_a_cancel_drmaa2_asked_for_ends_by_sigterm() -> None:
    """The core marks a job before it kills it: that cancel ends with signal 15 (exit code 143) like a kill on
    every backend; a cancel without the mark (someone else's) keeps no exit status (207)."""
    ours = job(JobState.RUNNING, "g").evolve(backend_data={"terminate_requested": None})
    killed = task_changes(ours, task("FAILED", "task was cancelled"), 0)
    assert (killed["state"], killed["exit_status"], killed["signal"]) == (JobState.FAILED, None, 15)
    assert killed["annotation"] == (
        "killed by drmaa2 kill (SIGTERM; Cloud Foundry does not say whether SIGKILL followed)")
    other = task_changes(job(JobState.RUNNING, "g"), task("FAILED", "task was cancelled"), 0)
    assert (other["exit_status"], other.get("signal"), other["annotation"]) == (None, None, "task was cancelled")
    exited = task_changes(ours, task("FAILED", "APP/TASK/t: Exited with status 2"), 0)
    assert (exited["exit_status"], exited.get("signal")) == (2, None)  # it ended on its own first


def test_the_create_answer_dates_the_start_by_our_clock() -> None:
    """created_at has whole seconds: two tasks created in one second would lose their order (the higher priority
    one, created first, could show the later start)."""
    changes = task_changes(job(), task("RUNNING"), 1767225600.75)
    assert changes["dispatch_time"] == 1767225600.75


def test_task_seen_pending_is_dispatched_when_seen_running() -> None:
    changes = task_changes(job(JobState.QUEUED, "g"), task("RUNNING"), 1767225700.0)
    assert changes["dispatch_time"] == 1767225700.0


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_envelopes_in_both_protojson_shapes() -> None:
    string_shape = {
        "timestamp": "1700000000000000001",
        "tags": {"source_type": "APP/TASK/t"},
        "log": {"payload": b64("hi"), "type": "ERR"},
    }
    numeric_shape = {
        "timestamp": 1700000000000000002,
        "tags": {"source_type": "APP/TASK/t"},
        "log": {"payload": b64("ho")},
    }
    numeric_err = {
        "timestamp": 3,
        "tags": {"source_type": "APP/TASK/t"},
        "log": {"payload": b64("x"), "type": 1},
    }
    old_tags = {
        "timestamp": "4",
        "deprecated_tags": {"source_type": {"text": "APP/TASK/t"}},
        "log": {"payload": b64("y"), "type": "OUT"},
    }
    assert decode_envelope(string_shape) == (1700000000000000001, "APP/TASK/t", "ERR", b"hi")
    assert decode_envelope(numeric_shape) == (1700000000000000002, "APP/TASK/t", "OUT", b"ho")
    assert decode_envelope(numeric_err) == (3, "APP/TASK/t", "ERR", b"x")
    assert decode_envelope(old_tags) == (4, "APP/TASK/t", "OUT", b"y")
    assert decode_envelope({"timestamp": "5", "counter": {"name": "x"}}) is None
    assert decode_envelope({"timestamp": "x", "log": {"payload": "!!"}}) is None


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\x00")), min_size=1))
def test_command_line_gives_the_shell_exactly_the_arguments(argv: list[str]) -> None:
    info = JobInfo(
        id="12.3", session="s@x", backend="cf", template=JobTemplate(remote_command=argv[0], args=argv[1:])
    )
    words = shlex.split(command_line(info))
    assert words == ["DRMAA2_JOB_ID=12", "DRMAA2_SESSION=s@x", "DRMAA2_TASK_ID=3", *argv]


def jwt(claims: dict[str, object]) -> str:
    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


def test_token_expiry_and_redaction() -> None:
    token = jwt({"exp": 1767225600, "user_name": "u"})
    assert token_expiry(token) == 1767225600.0
    assert token_expiry("opaque") is None and token_expiry("a.b.c") is None
    text = f"Invalid refresh token (expired): abcd-r and bearer {token}"
    assert redact(text, "abcd-r") == "Invalid refresh token (expired): *** and bearer ***"


def test_retry_after() -> None:
    assert retry_after("2") == 2.0 and retry_after("0.5") == 0.5
    assert retry_after("3600") == 30.0  # capped
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0
    assert retry_after(None) is None

"""The cf backend against the stand-in, through the backend contract (prepare/bind/start, refresh, wait_any,
terminate, output): real task processes, real exit statuses, real output."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any

import pytest

from drmaa2cli.backends.cf.backend import LABEL, CFBackend
from drmaa2cli.errors import InvalidArgument, InvalidState, UnsupportedAttribute, UnsupportedOperation
from drmaa2cli.models import JobState
from tests.cf_standin import StandIn

from .fixtures import INSTANCE, Harness


def test_exit_zero_is_done(harness: Harness) -> None:
    job = harness.submit("true")
    assert job.native_id and job.state in (JobState.RUNNING, JobState.DONE)
    job = harness.wait(job)
    assert job.state is JobState.DONE and job.exit_status == 0 and job.signal is None
    assert job.submission_time is not None and job.dispatch_time is not None and job.finish_time is not None
    assert job.submission_time <= job.dispatch_time <= job.finish_time


def test_exit_three_is_failed_with_status_from_failure_reason(harness: Harness, standin: StandIn) -> None:
    job = harness.wait(harness.submit("sh", "-c", "exit 3"))
    assert job.state is JobState.FAILED
    assert (job.exit_status, job.signal, job.exit_code()) == (3, None, 3)
    assert job.annotation == "exited with status 3"
    task = standin.world.tasks[job.native_id or ""]
    assert task.failure_reason is not None and task.failure_reason.endswith("Exited with status 3")


def test_arguments_reach_the_program_byte_for_byte(harness: Harness, cf_backend: CFBackend) -> None:
    args = [
        "a b",
        "'q'",
        '"dq"',
        "$(touch /tmp/cf-pwned)",
        "*",
        "new\nline",
        "ünïcødé ✓",
        "",
        "-l",
        "x" * 3000,
    ]
    code = (
        "import json, os, sys; "
        "print(json.dumps([os.environ['DRMAA2_JOB_ID'], os.environ['DRMAA2_SESSION'], *sys.argv[1:]]))"
    )
    job = harness.wait(harness.submit(sys.executable, "-c", code, *args, session="s@1"))
    assert job.state is JobState.DONE, job.annotation
    out = cf_backend.output(job, "out")
    assert out is not None
    assert json.loads(out) == [job.id, "s@1", *args]


def test_command_line_is_what_the_task_runs(harness: Harness, standin: StandIn) -> None:
    job = harness.submit("printf", "%s|", "a b", "c")
    command = standin.world.tasks[job.native_id or ""].command
    assert shlex.split(command)[2:] == ["printf", "%s|", "a b", "c"]


def test_body_sends_only_what_the_user_set(harness: Harness, standin: StandIn) -> None:
    harness.submit("true")
    harness.submit(
        "true",
        job_name="nightly",
        resource_limits={"memory_mb": 512, "disk_mb": 2048},
        extension={"user": "vcap"},
    )
    plain, full = (json.loads(r.body) for r in standin.requests_to("POST", r"/tasks$"))
    assert set(plain) == {"command", "metadata"}
    assert plain["metadata"] == {"labels": {LABEL: f"{INSTANCE}-1"}}
    assert {k: full[k] for k in ("name", "memory_in_mb", "disk_in_mb", "user")} == {
        "name": "nightly",
        "memory_in_mb": 512,
        "disk_in_mb": 2048,
        "user": "vcap",
    }
    tasks = sorted(standin.world.tasks.values(), key=lambda t: t.sequence_id)
    assert [t.sequence_id for t in tasks] == [1, 2]  # per-app sequence ids
    assert tasks[1].name == "nightly" and tasks[1].memory_in_mb == 512


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"working_directory": "/tmp"}, "working directory"),
        ({"job_environment": {"A": "1"}}, "job environment"),
        ({"input_path": "/etc/hosts"}, "input path"),
        ({"output_path": "/tmp/o"}, "output path"),
        ({"error_path": "/tmp/e"}, "error path"),
        ({"stage_in_files": {"/tmp": "/data"}}, "stage in files"),
        ({"timeout": 5.0}, "timeout"),
        ({"queue_name": "q"}, "queue name"),
        ({"resource_limits": {"cpus": 2.0}}, "cpus"),
        ({"extension": {"pull": True}}, "--pull"),
        ({"extension": {"native": ["-x"]}}, "--native"),
    ],
)
def test_fields_a_task_cannot_honour_are_refused(
    harness: Harness, standin: StandIn, fields: dict[str, Any], word: str
) -> None:
    with pytest.raises(UnsupportedAttribute, match=word):
        harness.submit("true", **fields)
    assert standin.requests_to("POST", ".") == [] and standin.world.tasks == {}


def test_unknown_app_and_app_without_droplet_fail_in_prepare(harness: Harness, standin: StandIn) -> None:
    with pytest.raises(InvalidArgument, match="no app named 'nosuch' in space 'dev' of org 'org'"):
        harness.submit("true", app="nosuch")
    with pytest.raises(InvalidArgument, match="app 'nodroplet' has no droplet"):
        harness.submit("true", app="nodroplet")
    with pytest.raises(InvalidArgument, match="--app"):
        harness.submit("true", app="")
    assert standin.requests_to("POST", ".") == []


def test_app_is_looked_up_in_the_targeted_space_only(harness: Harness, standin: StandIn) -> None:
    job = harness.submit("true")
    assert standin.world.tasks[job.native_id or ""].app is standin.world.find_app("worker", "dev")


def test_cancel_fails_the_job_as_cancelled(harness: Harness, cf_backend: CFBackend) -> None:
    job = harness.submit("sleep", "30")
    cf_backend.terminate(job, None)
    job = harness.refresh(job)
    assert job.state in (JobState.RUNNING, JobState.FAILED)
    job = harness.wait(job)
    assert job.state is JobState.FAILED and job.annotation == "task was cancelled"
    assert job.exit_status is None and job.signal is None and job.exit_code() is None
    with pytest.raises(InvalidState, match="already ended"):
        cf_backend.terminate(job, 9)


def test_canceling_shows_as_running_annotated(harness: Harness, cf_backend: CFBackend, standin: StandIn) -> None:
    standin.world.cancel_delay = 5.0  # hold the task in CANCELING
    job = harness.submit("sleep", "30")
    cf_backend.terminate(job, 15)
    job = harness.refresh(job)
    assert job.state is JobState.RUNNING and job.annotation == "cancel requested"


def test_only_cancel_signals_are_accepted(harness: Harness, cf_backend: CFBackend) -> None:
    job = harness.submit("sleep", "30")
    with pytest.raises(UnsupportedOperation, match="signal 10"):
        cf_backend.terminate(job, 10)
    cf_backend.terminate(job, 9)
    assert harness.wait(job).annotation == "task was cancelled"


def test_pending_task_is_queued(harness: Harness, standin: StandIn) -> None:
    standin.world.pending_seconds = 0.5
    job = harness.submit("true")
    assert job.state is JobState.QUEUED and job.dispatch_time is None
    job = harness.wait(job)
    assert job.state is JobState.DONE and job.dispatch_time is not None


def test_refresh_is_one_batched_request(harness: Harness, cf_backend: CFBackend, standin: StandIn) -> None:
    jobs = [harness.submit("sh", "-c", f"exit {n}") for n in range(5)]
    before = len(standin.requests_to("GET", r"^/v3/tasks$"))
    changed = cf_backend.refresh(jobs)
    calls = standin.requests_to("GET", r"^/v3/tasks$")[before:]
    assert len(calls) == 1
    assert set(calls[0].query["guids"][0].split(",")) == {j.native_id for j in jobs}
    assert all(j.backend == "cf" for j in changed)
    done = [harness.wait(j) for j in jobs]
    assert [j.exit_status for j in done] == [0, 1, 2, 3, 4]


def test_output_streams_and_join(harness: Harness, cf_backend: CFBackend) -> None:
    script = "echo one; echo oops >&2; printf 'two\\n'; echo 'Exit status 7 is just text'"
    job = harness.wait(harness.submit("sh", "-c", script))
    assert cf_backend.output(job, "out") == b"one\ntwo\nExit status 7 is just text\n"
    assert cf_backend.output(job, "err") == b"oops\n"
    joined = harness.wait(
        harness.submit("sh", "-c", "echo a; sleep 0.1; echo b >&2; sleep 0.1; echo c", join_files=True)
    )
    assert cf_backend.output(joined, "out") == b"a\nb\nc\n"
    assert cf_backend.output(joined, "err") == b""


def test_output_accepts_numeric_protojson(harness: Harness, cf_backend: CFBackend, standin: StandIn) -> None:
    standin.envelope_style = "numeric"
    job = harness.wait(harness.submit("sh", "-c", "echo out; echo err >&2; exit 2"))
    assert cf_backend.output(job, "out") == b"out\n"
    assert cf_backend.output(job, "err") == b"err\n"


def test_output_pages_through_log_cache(harness: Harness, cf_backend: CFBackend, standin: StandIn) -> None:
    job = harness.wait(harness.submit("seq", "2500"))
    out = cf_backend.output(job, "out")
    assert out == b"".join(b"%d\n" % n for n in range(1, 2501))
    reads = standin.requests_to("GET", "/log-cache/")
    assert len(reads) >= 3 and all(int(r.query["limit"][0]) <= 1000 for r in reads)


def test_output_keeps_tasks_of_the_same_app_apart(harness: Harness, cf_backend: CFBackend) -> None:
    first = harness.wait(harness.submit("echo", "first"))
    second = harness.wait(harness.submit("echo", "second"))
    assert (cf_backend.output(first, "out"), cf_backend.output(second, "out")) == (b"first\n", b"second\n")


def test_task_unknown_to_cloud_foundry_fails_the_job(harness: Harness, cf_backend: CFBackend) -> None:
    job = harness.submit("sleep", "30")
    running = job.evolve(native_id="00000000-0000-0000-0000-000000000000")
    (gone,) = cf_backend.refresh([running])
    assert gone.state is JobState.FAILED and gone.annotation == "the task is no longer known to Cloud Foundry"


def test_record_without_task_is_matched_by_label(harness: Harness, cf_backend: CFBackend) -> None:
    # The submitter died after the create was sent but before its answer was recorded.
    job = harness.submit("true")
    unborn = job.evolve(native_id=None, state=JobState.QUEUED)
    (found,) = cf_backend.refresh([unborn])
    assert found.native_id == job.native_id
    lost = unborn.evolve(backend_data={**unborn.backend_data, "label": f"{INSTANCE}-999"}, submission_time=0.0)
    (never,) = cf_backend.refresh([lost])
    assert never.state is JobState.FAILED and never.annotation == "the task was never created"


def test_output_of_a_just_finished_task_waits_for_its_last_lines(
    harness: Harness, cf_backend: CFBackend, standin: StandIn
) -> None:
    standin.world.log_lag = 1.0  # lines reach log-cache a second after they were printed
    job = harness.wait(harness.submit("sh", "-c", "echo first; echo last"))
    assert cf_backend.output(job, "out") == b"first\nlast\n"


def test_a_follower_does_not_poll_faster_than_the_backoff(
    harness: Harness, cf_backend: CFBackend, standin: StandIn
) -> None:
    job = harness.submit("sleep", "30")
    before = len(standin.requests_to("GET", "^/v3/tasks$"))
    for _ in range(20):  # what a log follower does: short waits, output in between
        cf_backend.wait_any([job], 0.05)
        cf_backend.output(job, "out")
    reads = len(standin.requests_to("GET", "^/v3/tasks$")) - before
    assert 1 <= reads < 20
    assert len(standin.requests_to("GET", "^/log-cache/")) < 20
    cf_backend.terminate(job, None)

"""Faults injected into the stand-in: reads are retried (429 per Retry-After, 5xx, reset connections, slow
answers); a create is never sent twice, and a create whose answer was lost is found by its label."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from drmaa2cli.backends.cf.backend import CFBackend
from drmaa2cli.errors import BackendUnavailable, InvalidArgument
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from tests.cf_standin import StandIn

from .fixtures import Harness, make_backend

TASKS = r"^/v3/tasks\?"
CREATE = r"^/v3/apps/[\w-]+/tasks$"


def record_sleeps(backend: CFBackend) -> list[float]:
    """The client's pauses between attempts (it still really sleeps)."""
    http = backend.client().http
    slept: list[float] = []
    real: Callable[[float], None] = http.sleep

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real(seconds)

    http.sleep = sleep
    return slept


def statuses(standin: StandIn, method: str, route: str) -> list[int | None]:
    return [r.status for r in standin.requests_to(method, route)]


def test_429_is_waited_out_per_retry_after(harness: Harness, cf_backend: CFBackend, standin: StandIn) -> None:
    job = harness.submit("true")
    slept = record_sleeps(cf_backend)
    standin.add_fault("GET", TASKS, "429", retry_after=1.5)
    assert harness.wait(job).state is JobState.DONE
    assert statuses(standin, "GET", "^/v3/tasks$")[:2] == [429, 200]
    assert slept[0] == 1.5


@pytest.mark.parametrize("kind", ["500", "502", "503", "reset"])
def test_reads_are_retried(harness: Harness, standin: StandIn, kind: str) -> None:
    job = harness.submit("sh", "-c", "exit 6")
    standin.add_fault("GET", TASKS, kind, count=2)
    assert harness.wait(job).exit_status == 6
    faulted = [r for r in standin.requests_to("GET", "^/v3/tasks$") if r.fault == kind]
    assert len(faulted) == 2


def test_slow_answer_beyond_the_timeout_is_retried(drmaa2_home: Path, cf_home: Path, standin: StandIn) -> None:
    harness = Harness(make_backend(drmaa2_home, {"CF_HOME": str(cf_home)}, request_timeout=0.3))
    job = harness.submit("true")
    standin.add_fault("GET", TASKS, "slow", delay=1.0)
    assert harness.wait(job).state is JobState.DONE
    assert next(r.fault for r in standin.requests_to("GET", "^/v3/tasks$")) == "slow"


def test_persistent_server_error_is_one_clear_line(
    harness: Harness, cf_backend: CFBackend, standin: StandIn
) -> None:
    job = harness.submit("true")
    standin.add_fault("GET", TASKS, "500", count=100)
    with pytest.raises(BackendUnavailable) as err:
        cf_backend.refresh([job])
    message = str(err.value)
    assert "\n" not in message
    assert "CF-ServerError: An unknown error occurred." in message and "X-Vcap-Request-Id: " in message
    assert len(standin.requests_to("GET", "^/v3/tasks$")) == 4  # the first try and three retries


def test_wait_sits_out_a_short_outage(harness: Harness, standin: StandIn) -> None:
    job = harness.submit("sleep", "0.3")
    standin.add_fault("GET", TASKS, "503", count=6)
    assert harness.wait(job).state is JobState.DONE


@pytest.mark.parametrize("kind", ["500", "reset"])
def test_create_answer_lost_is_found_by_label_not_sent_again(
    harness: Harness, standin: StandIn, kind: str
) -> None:
    standin.add_fault("POST", CREATE, kind, when="after")  # the task exists, the answer is lost
    job = harness.submit("sh", "-c", "exit 9")
    assert len(standin.requests_to("POST", CREATE)) == 1
    assert len(standin.world.tasks) == 1 and job.native_id in standin.world.tasks
    assert harness.wait(job).exit_status == 9


@pytest.mark.parametrize("kind", ["500", "reset"])
def test_create_that_failed_is_not_sent_again(harness: Harness, standin: StandIn, kind: str) -> None:
    standin.add_fault("POST", CREATE, kind)  # refused before anything was created
    with pytest.raises(BackendUnavailable, match="cannot create the task") as err:
        harness.submit("true")
    assert len(standin.requests_to("POST", CREATE)) == 1 and standin.world.tasks == {}
    if kind == "500":
        assert "CF-ServerError" in str(err.value) and "X-Vcap-Request-Id" in str(err.value)


def test_create_refused_with_429_is_sent_again(harness: Harness, standin: StandIn) -> None:
    # A 429 means the request was not processed: sending it again cannot make a second task.
    standin.add_fault("POST", CREATE, "429", retry_after=0.2)
    harness.submit("true")
    assert statuses(standin, "POST", CREATE) == [429, 202] and len(standin.world.tasks) == 1


def test_create_refused_by_the_api_names_the_reason(harness: Harness, standin: StandIn) -> None:
    template = JobTemplate(remote_command="true", job_category="worker")
    launch = harness.backend.prepare(template)
    standin.world.find_app("worker").droplet_guid = None  # the droplet went away since prepare
    job = JobInfo(id="1", session="default", backend="cf", state=JobState.QUEUED, template=template)
    launch.bind(job)
    with pytest.raises(
        InvalidArgument, match=r"CF-UnprocessableEntity: Task must have a droplet.*X-Vcap-Request-Id"
    ):
        launch.start(job)


def test_unreachable_api_fails_in_prepare(drmaa2_home: Path, tmp_path: Path, standin: StandIn) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = {
        "CF_HOME": str(tmp_path),
        "CF_API": f"http://127.0.0.1:{port}",
        "CF_USERNAME": "user",
        "CF_PASSWORD": "pass",
        "CF_ORG": "org",
        "CF_SPACE": "dev",
    }
    with pytest.raises(
        BackendUnavailable, match=f"cannot reach the Cloud Foundry API: no answer from http://127.0.0.1:{port}"
    ):
        make_backend(drmaa2_home, environ).prepare(JobTemplate(remote_command="true", job_category="worker"))


def test_log_cache_429_halves_the_page(harness: Harness, cf_backend: CFBackend, standin: StandIn) -> None:
    job = harness.wait(harness.submit("echo", "logged"))
    standin.add_fault("GET", "^/log-cache/", "429", count=4, retry_after=0.05)
    assert cf_backend.output(job, "out") == b"logged\n"
    limits = [r.query["limit"][0] for r in standin.requests_to("GET", "^/log-cache/")]
    assert limits[:4] == ["1000"] * 4 and limits[4] == "500"

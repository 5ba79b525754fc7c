"""The two ways to the engine: the standard library (unix sockets, plain TCP; the other tests) and the
docker SDK (TLS, ssh://, pulls), here forced onto the local socket; and API version negotiation."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from drmaa2cli.backends.docker import engine as docker_engine
from drmaa2cli.errors import UnsupportedAttribute
from drmaa2cli.models import JobState
from tests.docker.fixtures import Jobs


@pytest.mark.usefixtures("sdk")
def test_through_the_sdk_exit_status_output_and_logs(jobs: Jobs) -> None:
    job = jobs.run("sh", "-c", "echo out; echo err >&2; sleep 300")
    assert isinstance(jobs.backend()._engine()._transport_for(), docker_engine.SdkTransport)
    job = jobs.until(job, lambda j: jobs.backend().output(j, "err") == b"err\n")
    assert jobs.backend().output(job, "out") == b"out\n"
    jobs.backend().terminate(job, signal.SIGTERM)
    job = jobs.finish(job)  # woken by the events stream read through requests
    assert job.signal == signal.SIGTERM
    assert Path(str(job.output_path)).read_text() == "out\n"
    assert Path(str(job.error_path)).read_text() == "err\n"
    assert jobs.finish(jobs.run("sh", "-c", "exit 3")).exit_status == 3


def test_an_engine_that_does_not_speak_our_api_version(jobs: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    # This engine answers "client version 1.99 is too new"; Docker 29 answers "1.41 is too old". Either
    # way the engine's own version is asked for and used.
    monkeypatch.setattr(docker_engine, "API_VERSION", "1.99")
    backend = jobs.backend()
    job = jobs.finish(jobs.run("echo", "negotiated"))
    assert job.state is JobState.DONE
    assert Path(str(job.output_path)).read_text() == "negotiated\n"
    engine = backend._engine()
    engine.containers("drmaa2.instance=none")
    if jobs.engine_name == "docker":  # Podman serves any version's paths: nothing to negotiate there
        assert engine._version != "1.99"


@pytest.mark.usefixtures("sdk")
def test_no_timeout_where_only_the_sdk_reaches_the_engine(jobs: Jobs) -> None:
    with pytest.raises(UnsupportedAttribute) as err:
        jobs.backend().prepare(jobs.template("true", timeout=5.0))
    assert "--timeout only for an engine at a unix socket or plain tcp://" in str(err.value)

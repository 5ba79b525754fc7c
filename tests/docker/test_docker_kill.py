"""`drmaa2 kill` and --timeout on the docker backend, through the CLI: the exit code `wait` gives and the
annotation name the signal that really ended the job, as on the process backend."""

from __future__ import annotations

import time

import pytest

from tests.docker.cli import DockerCli

# Ignores SIGTERM (tini hands it to this shell, its child), says so once the trap is set, then waits.
IGNORES_TERM = "trap '' TERM; echo ready; while :; do sleep 1; done"


def _until_ready(docker_cli: DockerCli, job: str) -> None:
    deadline = time.monotonic() + 60
    while docker_cli("logs", job).out != b"ready\n":
        assert time.monotonic() < deadline, f"job {job} never said it was ready"
        time.sleep(0.1)


def test_kill_of_a_job_that_dies_on_sigterm(docker_cli: DockerCli) -> None:
    job = docker_cli.submit("sleep", "300")
    docker_cli.until_running(job)
    assert docker_cli("kill", job).code == 0
    assert docker_cli.wait(job) == 143
    info = docker_cli.info(job)
    assert (info["state"], info["signal"], info["exit_status"]) == ("failed", 15, None)
    assert info["annotation"] == "killed by drmaa2 kill (SIGTERM)"


def test_kill_of_a_job_that_ignores_sigterm_names_the_sigkill(docker_cli: DockerCli) -> None:
    job = docker_cli.submit("sh", "-c", IGNORES_TERM)
    _until_ready(docker_cli, job)
    assert docker_cli("kill", job).code == 0
    assert docker_cli.wait(job) == 137
    info = docker_cli.info(job)
    assert (info["state"], info["signal"], info["exit_status"]) == ("failed", 9, None)
    assert info["annotation"] == "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)"


def test_kill_with_an_explicit_sigkill_says_just_that(docker_cli: DockerCli) -> None:
    job = docker_cli.submit("sh", "-c", IGNORES_TERM)
    _until_ready(docker_cli, job)
    assert docker_cli("kill", "--signal", "KILL", job).code == 0
    assert docker_cli.wait(job) == 137
    assert docker_cli.info(job)["annotation"] == "killed by drmaa2 kill (SIGKILL)"


@pytest.mark.parametrize(("script", "code"), [("sleep 300", 143), (IGNORES_TERM, 137)])
def test_timeout_as_on_the_process_backend(docker_cli: DockerCli, script: str, code: int) -> None:
    jobs = {
        backend: docker_cli.submit("sh", "-c", script, options=["--timeout", "2s"], backend=backend)
        for backend in ("docker", "process")
    }
    for backend, job in jobs.items():
        assert docker_cli.wait(job) == code, backend
        info = docker_cli.info(job)
        how = " (SIGKILL after SIGTERM was ignored for 5s)" if code == 137 else ""
        expected = ("failed", code - 128, f"timed out after 2s{how}")
        assert (info["state"], info["signal"], info["annotation"]) == expected


def test_status_during_the_grace_period_does_not_end_the_job(docker_cli: DockerCli) -> None:
    """While a job that ignores SIGTERM is in its grace period (Podman shows the container "stopping"),
    every `status` sees it still running; it ends by the SIGKILL, as without anyone looking."""
    job = docker_cli.submit("sh", "-c", IGNORES_TERM, options=["--timeout", "1s"])
    _until_ready(docker_cli, job)
    deadline = time.monotonic() + 60
    while (info := docker_cli.info(job))["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, info
        time.sleep(0.2)
    assert (info["state"], info["signal"], info["exit_status"]) == ("failed", 9, None), info
    assert info["annotation"] == "timed out after 1s (SIGKILL after SIGTERM was ignored for 5s)"

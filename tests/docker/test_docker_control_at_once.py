"""Control right after submission never loses a docker job: a kill issued the moment `submit` returned, or
while drmaa2's runner is between taking a released job out of its queue and creating its container, takes
effect (failed, killed; never "done", never a traceback) and leaves no container behind. Each case is tried
a few times, in a bounded loop."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from drmaa2cli import JobSession, JobTemplate, config
from drmaa2cli.deferred import held
from drmaa2cli.models import JobInfo, JobState
from drmaa2cli.service import Service
from drmaa2cli.store import Store
from tests.docker.cli import DockerCli

TRIES = 5
KILLED = {
    143: "killed by drmaa2 kill (SIGTERM)",
    137: "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)",
}
BEFORE_START = "killed by drmaa2 kill before it started"


def _assert_killed(info: JobInfo) -> None:
    assert info.state is JobState.FAILED, info
    if info.annotation == BEFORE_START:
        assert info.signal is None and info.exit_status is None and info.dispatch_time is None
    else:
        code = info.exit_code()
        assert code in KILLED and info.annotation == KILLED[code], info


def test_cli_kill_right_after_submit(docker_cli: DockerCli) -> None:
    for _ in range(TRIES):
        job = docker_cli.submit("sleep", "300")
        kill = docker_cli("kill", job)
        assert kill.code == 0 and kill.err == b"", kill.err
        assert docker_cli.wait(job) == 143
        info = docker_cli.info(job)
        assert (info["state"], info["annotation"]) == ("failed", KILLED[143])
    assert docker_cli.containers() == []


def test_cli_hold_release_kill_right_after_submit(docker_cli: DockerCli) -> None:
    for _ in range(TRIES):
        job = docker_cli.submit("sleep", "300")
        for action in ("hold", "release"):
            r = docker_cli(action, job)
            # A started job is neither held nor released, on every backend: one clear line (exit 205), the
            # job untouched.
            assert r.code == 205 and r.err.count(b"\n") == 1, r.err
        assert docker_cli("kill", job).code == 0
        assert docker_cli.wait(job) == 143
        assert docker_cli.info(job)["annotation"] == KILLED[143]
    assert docker_cli.containers() == []


def test_cli_kill_right_after_release_of_a_held_job(docker_cli: DockerCli) -> None:
    for _ in range(TRIES):
        job = docker_cli.submit("sleep", "300", options=["--hold"])
        assert docker_cli("release", job).code == 0
        kill = docker_cli("kill", job)
        assert kill.code == 0 and kill.err == b"", kill.err
        assert docker_cli.wait(job) in (143, 207)  # 207: killed before its container started
        info = docker_cli.info(job)
        assert info["state"] == "failed" and info["annotation"] in (KILLED[143], BEFORE_START)
    assert docker_cli.containers() == []


def test_api_terminate_right_after_run_job(docker_cli: DockerCli) -> None:
    session = JobSession.open("api", backend="docker", environ=docker_cli.cli.env)
    for _ in range(TRIES):
        job = session.run_job(JobTemplate(remote_command="sleep", args=["30"], job_category=docker_cli.image))
        job.terminate()
        info = job.wait_terminated(timeout=60)
        _assert_killed(info)
        assert info.exit_code() == 143
    assert docker_cli.containers() == []


def test_api_terminate_while_the_runner_starts_the_job(docker_cli: DockerCli) -> None:
    # The runner takes a released job out of "deferred" under the store lock, then creates its container: a
    # kill in between found no container, failed with "has no container", and the job then ran to "done".
    session = JobSession.open("api", backend="docker", environ=docker_cli.cli.env)
    store = session.service.store
    template = JobTemplate(remote_command="sleep", args=["30"], job_category=docker_cli.image, submit_as_hold=True)
    for _ in range(TRIES):
        job = session.run_job(template)
        job.release()
        deadline = time.monotonic() + 60
        while "deferred" in store.snapshot().get(job.id).backend_data:
            assert time.monotonic() < deadline, "the runner never started the released job"
            time.sleep(0.002)
        job.terminate()
        _assert_killed(job.wait_terminated(timeout=60))
    assert docker_cli.containers() == []


class RunnerFirst:
    """A kill of a job still queued in drmaa2 (read as "deferred") that lets the job's runner take it out of the
    queue before the kill writes its record: the interleaving that lost the kill, made certain."""

    raced = 0

    @staticmethod
    def install(monkeypatch: pytest.MonkeyPatch) -> None:
        put = held.put

        def runner_first(store: Store, jobs: Sequence[JobInfo]) -> list[JobInfo]:
            # The kill's new records are made (from copies that still hold the mark); the runner then starts
            # the job before they are written.
            deadline = time.monotonic() + 60
            for job in jobs:
                while job.state is JobState.FAILED and "deferred" in store.snapshot().get(job.id).backend_data:
                    assert time.monotonic() < deadline, "the runner never started the released job"
                    time.sleep(0.002)
                RunnerFirst.raced += job.state is JobState.FAILED
            return put(store, jobs)

        monkeypatch.setattr(held, "put", runner_first)


def test_kill_read_as_queued_while_the_runner_starts_the_job(docker_cli: DockerCli,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The kill's record ("killed before it started", the job still "deferred") overwrote the runner's, and the
    # runner's container ran on with nothing left to stop it.
    env = docker_cli.cli.env
    RunnerFirst.install(monkeypatch)
    session = JobSession("api", Service(config.resolve({"session": "api", "backend": "docker"}, env), env))
    template = JobTemplate(remote_command="sleep", args=["30"], job_category=docker_cli.image, submit_as_hold=True)
    RunnerFirst.raced = 0
    for _ in range(TRIES):
        job = session.run_job(template)
        job.release()
        job.terminate()  # the runner polls every 0.2 s: this reads the job as still queued, mostly
        _assert_killed(job.wait_terminated(timeout=60))
        assert docker_cli.containers() == []
    assert RunnerFirst.raced > 0, "the kill never found the job still queued: nothing was tested"

"""The Grid Engine backend against a real sge_qmaster/sge_execd (tests/infra/gridengine.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from drmaa2cli.backends import _sched
from drmaa2cli.backends import gridengine_cmd as cmd
from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.gridengine import GridEngineBackend
from drmaa2cli.errors import (
    BackendUnavailable,
    InvalidArgument,
    InvalidState,
    UnsupportedAttribute,
    UnsupportedOperation,
)
from drmaa2cli.models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from tests.slurm.sched_driver import Driver

NASTY = ["a b", "it's", 'say "hi"', "$HOME", "`id`", "back\\slash", "new\nline", "", "*", "ünï", "-n"]


def read(path: str | None) -> bytes:
    assert path is not None
    return Path(path).read_bytes()


def test_exit_0_output_environment_and_cwd(gridengine: Driver, tmp_path: Path) -> None:
    job = gridengine.run(
        ["sh", "-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_SESSION $GREETING $(pwd)"; echo oops >&2'],
        job_environment={"GREETING": "hello world"}, working_directory=str(tmp_path),
    )
    (job,) = gridengine.wait([job])
    assert (job.state, job.exit_status, job.signal) == (JobState.DONE, 0, None)
    assert read(job.output_path) == f"{job.id} test hello world {tmp_path}\n".encode()
    assert read(job.error_path) == b"oops\n"
    assert job.dispatch_time is not None and job.finish_time is not None and job.machine
    assert job.cpu_time is not None and job.max_rss


def test_exit_3_is_failed_with_status(gridengine: Driver) -> None:
    (job,) = gridengine.wait([gridengine.run(["sh", "-c", "exit 3"])])
    assert (job.state, job.exit_status, job.signal) == (JobState.FAILED, 3, None)


def test_arguments_reach_the_job_byte_for_byte(gridengine: Driver, tmp_path: Path) -> None:
    out = tmp_path / "args:out"
    job = gridengine.run(["printf", "%s\\0", *NASTY], output_path=str(out), join_files=True)
    (job,) = gridengine.wait([job])
    assert job.state is JobState.DONE
    assert out.read_bytes().split(b"\0")[:-1] == [a.encode() for a in NASTY]


def test_input_file_and_joined_streams(gridengine: Driver, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from stdin\n")
    job = gridengine.run(["sh", "-c", "cat; echo err >&2"], input_path="in.txt", output_path="both.out",
                         join_files=True, working_directory=str(tmp_path))
    (job,) = gridengine.wait([job])
    assert job.output_path == job.error_path == str(tmp_path / "both.out")
    assert sorted(read(job.output_path).splitlines()) == [b"err", b"from stdin"]


def test_kill_running_job_reports_the_signal(gridengine: Driver) -> None:
    job = gridengine.wait_for(gridengine.run(["sleep", "60"]), JobState.RUNNING)
    with pytest.raises(UnsupportedOperation):
        gridengine.backend.terminate(job, 10)
    gridengine.backend.terminate(job, None)
    (job,) = gridengine.wait([job])
    assert (job.state, job.signal, job.exit_status) == (JobState.FAILED, 9, None)
    assert job.exit_code() == 137


def test_kill_pending_job(gridengine: Driver) -> None:
    job = gridengine.run(["true"], submit_as_hold=True)
    gridengine.backend.terminate(job, None)
    (job,) = gridengine.wait([job])
    assert (job.state, job.exit_status) == (JobState.FAILED, None)
    assert job.annotation == "deleted before it started"


def test_hold_release_suspend_resume(gridengine: Driver) -> None:
    held = gridengine.run(["true"], submit_as_hold=True)
    (held,) = gridengine.refresh([held])
    assert held.state is JobState.QUEUED_HELD
    gridengine.backend.release(held)
    (held,) = gridengine.wait([held])
    assert held.state is JobState.DONE
    running = gridengine.wait_for(gridengine.run(["sleep", "30"]), JobState.RUNNING)
    with pytest.raises(InvalidState):
        gridengine.backend.hold(running)
    gridengine.backend.suspend(running)
    running = gridengine.wait_for(running, JobState.SUSPENDED)
    gridengine.backend.resume(running)
    running = gridengine.wait_for(running, JobState.RUNNING)
    gridengine.backend.terminate(running, 9)
    gridengine.wait([running])


def test_throttled_array_tasks_end_with_their_own_states(gridengine: Driver, tmp_path: Path) -> None:
    template = JobTemplate(
        remote_command="sh",
        args=["-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_TASK_ID"; sleep 0.2; exit $((DRMAA2_TASK_ID % 3))'],
        output_path=str(tmp_path / "task-%a.out"), join_files=True,
    )
    tasks = gridengine.submit(template, array=ArraySpec(1, 10, 1, 2))
    assert [t.native_id for t in tasks] == [f"{tasks[0].backend_data['array_job']}.{i}" for i in range(1, 11)]
    most = 0
    while not all(t.state.final for t in tasks):
        tasks = gridengine.refresh(tasks)
        most = max(most, sum(t.state is JobState.RUNNING for t in tasks))
        gridengine.backend.wait_any([t for t in tasks if not t.state.final], 0.5)
    assert most <= 2
    for index, task in enumerate(tasks, start=1):
        assert task.exit_status == index % 3
        assert task.state is (JobState.DONE if index % 3 == 0 else JobState.FAILED)
        assert read(task.output_path) == f"{task.id.replace('.', ' ')}\n".encode()
        assert task.output_path == str(tmp_path / f"task-{index}.out")


def test_job_that_cannot_start_fails_instead_of_waiting(gridengine: Driver, tmp_path: Path) -> None:
    job = gridengine.run(["cat"], input_path=str(tmp_path / "missing"), output_path=str(tmp_path / "o"),
                         join_files=True)
    (job,) = gridengine.wait([job])
    assert job.state is JobState.FAILED and job.exit_status is None
    assert job.annotation and job.annotation.startswith("could not start:") and "missing" in job.annotation
    gone = subprocess.run(["qstat", "-j", str(job.native_id)], capture_output=True,
                          env=gridengine.backend.ctx.environ, check=False)
    assert gone.returncode != 0


def test_any_dependency_runs_after_a_failure(gridengine: Driver, tmp_path: Path) -> None:
    """Grid Engine's -hold_jid (the build function's mode "any") releases the job whatever the first
    job's status: never pending forever. Mode "ok" is the core runner's business."""
    first = gridengine.run(["sh", "-c", "sleep 0.5; exit 1"])
    env = gridengine.backend.ctx.environ
    paths = _sched.Paths(str(tmp_path), str(tmp_path / "then.out"), None)
    argv = cmd.build_submit_command(JobTemplate(remote_command="true"), paths, job_name="then",
                                    after=_sched.After([str(first.native_id)], "any"))
    script = _sched.job_script(_sched.JobSpec("then", "test", ["true"]))
    native = cmd.parse_submit_output(_sched.run(argv, env, script).stdout)
    then = JobInfo(id="then", session="test", backend="gridengine", state=JobState.QUEUED, native_id=native)
    gridengine.jobs[then.id] = then
    first, then = gridengine.wait([first, then])
    assert (first.exit_status, then.state) == (1, JobState.DONE)
    with pytest.raises(UnsupportedAttribute):
        gridengine.backend.prepare(JobTemplate(remote_command="true"), after=Dependencies([first]))


def test_missing_directories_are_refused_before_submitting(gridengine: Driver, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="working directory"):
        gridengine.run(["true"], working_directory=str(tmp_path / "missing"))
    with pytest.raises(InvalidArgument, match="output"):
        gridengine.run(["true"], output_path=str(tmp_path / "missing" / "out"))


def test_unknown_job_keeps_its_last_state(gridengine: Driver) -> None:
    ghost = JobInfo(id="1", session="s", backend="gridengine", state=JobState.RUNNING, native_id="99999999",
                    dispatch_time=1.0)
    assert gridengine.backend.refresh([ghost]) == []


def test_unreachable_or_missing_scheduler(gridengine_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **gridengine_env, "SGE_CELL": "nosuchcell"}
    backend = GridEngineBackend(BackendContext(home=tmp_path, environ=env))
    with pytest.raises(BackendUnavailable) as err:
        backend.prepare(JobTemplate(remote_command="true"))
    assert "\n" not in str(err.value)
    backend = GridEngineBackend(BackendContext(home=tmp_path, environ={**env, "PATH": str(tmp_path)}))
    with pytest.raises(BackendUnavailable, match="qconf not found"):
        backend.prepare(JobTemplate(remote_command="true"))


def test_timeout_kills_the_job(gridengine: Driver) -> None:
    (job,) = gridengine.wait([gridengine.run(["sleep", "60"], timeout=2)])
    assert (job.state, job.signal) == (JobState.FAILED, 9)
    assert job.annotation and "h_rt" in job.annotation

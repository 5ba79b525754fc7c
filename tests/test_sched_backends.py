"""What the Slurm and Grid Engine backends must both do, run against each real scheduler through a parameter
(tests/infra/slurm.sh, tests/infra/gridengine.sh). What only one of them does is tested in tests/slurm and
tests/gridengine."""

from __future__ import annotations

from pathlib import Path

import pytest

from drmaa2cli.errors import InvalidArgument, InvalidState
from drmaa2cli.models import ArraySpec, JobInfo, JobState, JobTemplate
from tests.slurm.sched_driver import Driver

NASTY = ["a b", "it's", 'say "hi"', "$HOME", "`id`", "back\\slash", "new\nline", "", "*", "ünï", "-n"]

#: How each scheduler names task N of array job J.
TASK_SEPARATOR = {"slurm": "_", "gridengine": "."}
#: Schedulers whose test cluster keeps accounting (slurm.sh runs without slurmdbd).
ACCOUNTING = {"gridengine"}


@pytest.fixture(params=["slurm", "gridengine"])
def sched(request: pytest.FixtureRequest) -> Driver:
    """The ``slurm`` or ``gridengine`` driver (tests/slurm/fixtures.py, tests/gridengine/fixtures.py)."""
    driver: Driver = request.getfixturevalue(request.param)
    return driver


def read(path: str | None) -> bytes:
    assert path is not None
    return Path(path).read_bytes()


def test_exit_0_output_environment_and_cwd(sched: Driver, tmp_path: Path) -> None:
    job = sched.run(
        ["sh", "-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_SESSION $GREETING $(pwd)"; echo oops >&2'],
        job_environment={"GREETING": "hello world"}, working_directory=str(tmp_path),
    )
    assert job.native_id and job.native_id.isdigit()
    (job,) = sched.wait([job])
    assert (job.state, job.exit_status, job.signal) == (JobState.DONE, 0, None)
    assert read(job.output_path) == f"{job.id} test hello world {tmp_path}\n".encode()
    assert read(job.error_path) == b"oops\n"
    assert job.dispatch_time is not None and job.finish_time is not None and job.machine
    if sched.backend.name in ACCOUNTING:
        assert job.cpu_time is not None and job.max_rss


def test_exit_3_is_failed_with_status(sched: Driver) -> None:
    (job,) = sched.wait([sched.run(["sh", "-c", "exit 3"])])
    assert (job.state, job.exit_status, job.signal) == (JobState.FAILED, 3, None)
    assert job.annotation == "exited with status 3"


def test_arguments_reach_the_job_byte_for_byte(sched: Driver, tmp_path: Path) -> None:
    out = tmp_path / "args:out"  # Grid Engine reads "host:path" unless protected
    (job,) = sched.wait([sched.run(["printf", "%s\\0", *NASTY], output_path=str(out), join_files=True)])
    assert job.state is JobState.DONE
    assert out.read_bytes().split(b"\0")[:-1] == [a.encode() for a in NASTY]


def test_input_file_and_joined_streams(sched: Driver, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from stdin\n")
    job = sched.run(["sh", "-c", "cat; echo err >&2"], input_path="in.txt", output_path="both.out",
                    join_files=True, working_directory=str(tmp_path))
    (job,) = sched.wait([job])
    assert job.output_path == job.error_path == str(tmp_path / "both.out")
    assert sorted(read(job.output_path).splitlines()) == [b"err", b"from stdin"]


def test_hold_release_suspend_resume(sched: Driver) -> None:
    held = sched.run(["true"], submit_as_hold=True)
    (held,) = sched.refresh([held])
    assert held.state is JobState.QUEUED_HELD
    sched.backend.release(held)
    (held,) = sched.wait([held])
    assert held.state is JobState.DONE
    running = sched.wait_for(sched.run(["sleep", "30"]), JobState.RUNNING)
    with pytest.raises(InvalidState):
        sched.backend.hold(running)
    sched.backend.suspend(running)  # Slurm lets root do it
    running = sched.wait_for(running, JobState.SUSPENDED)
    sched.backend.resume(running)
    running = sched.wait_for(running, JobState.RUNNING)
    sched.backend.terminate(running, 9)
    sched.wait([running])


def test_throttled_array_tasks_end_with_their_own_states(sched: Driver, tmp_path: Path) -> None:
    template = JobTemplate(
        remote_command="sh",
        args=["-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_TASK_ID"; sleep 0.2; exit $((DRMAA2_TASK_ID % 3))'],
        output_path=str(tmp_path / "task-%a.out"), join_files=True,
    )
    tasks = sched.submit(template, array=ArraySpec(1, 10, 1, 2))
    array_job, separator = tasks[0].backend_data["array_job"], TASK_SEPARATOR[sched.backend.name]
    assert [t.native_id for t in tasks] == [f"{array_job}{separator}{i}" for i in range(1, 11)]
    most = 0
    while not all(t.state.final for t in tasks):
        tasks = sched.refresh(tasks)
        most = max(most, sum(t.state is JobState.RUNNING for t in tasks))
        sched.backend.wait_any([t for t in tasks if not t.state.final], 0.5)
    assert most <= 2
    for index, task in enumerate(tasks, start=1):
        assert task.exit_status == index % 3
        assert task.state is (JobState.DONE if index % 3 == 0 else JobState.FAILED)
        assert read(task.output_path) == f"{task.id.replace('.', ' ')}\n".encode()
        assert task.output_path == str(tmp_path / f"task-{index}.out")


def test_missing_directories_are_refused_before_submitting(sched: Driver, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="working directory"):
        sched.run(["true"], working_directory=str(tmp_path / "missing"))
    with pytest.raises(InvalidArgument, match="output"):
        sched.run(["true"], output_path=str(tmp_path / "missing" / "out"))
    with pytest.raises(InvalidArgument, match="output"):
        sched.run(["true"], error_path=str(tmp_path / "missing" / "err"))


def test_unknown_job_keeps_its_last_state(sched: Driver) -> None:
    ghost = JobInfo(id="1", session="s", backend=sched.backend.name, state=JobState.RUNNING,
                    native_id="99999999", dispatch_time=1.0)
    assert sched.backend.refresh([ghost]) == []

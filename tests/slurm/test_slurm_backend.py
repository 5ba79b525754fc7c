"""The Slurm backend against a real slurmctld/slurmd (tests/infra/slurm.sh)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.slurm import SlurmBackend
from drmaa2cli.errors import BackendUnavailable, InvalidArgument, InvalidState, UnsupportedAttribute
from drmaa2cli.models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from tests.slurm.sched_driver import Driver

NASTY = ["a b", "it's", 'say "hi"', "$HOME", "`id`", "back\\slash", "new\nline", "", "*", "ünï", "-n"]


def read(path: str | None) -> bytes:
    assert path is not None
    return Path(path).read_bytes()


def test_exit_0_output_environment_and_cwd(slurm: Driver, tmp_path: Path) -> None:
    job = slurm.run(
        ["sh", "-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_SESSION $GREETING $(pwd)"; echo oops >&2'],
        job_environment={"GREETING": "hello world"}, working_directory=str(tmp_path),
    )
    assert job.native_id and job.native_id.isdigit()
    (job,) = slurm.wait([job])
    assert (job.state, job.exit_status, job.signal) == (JobState.DONE, 0, None)
    assert read(job.output_path) == f"{job.id} test hello world {tmp_path}\n".encode()
    assert read(job.error_path) == b"oops\n"
    assert job.dispatch_time is not None and job.finish_time is not None and job.machine


def test_exit_3_is_failed_with_status(slurm: Driver) -> None:
    (job,) = slurm.wait([slurm.run(["sh", "-c", "exit 3"])])
    assert (job.state, job.exit_status, job.signal) == (JobState.FAILED, 3, None)
    assert job.annotation == "exited with status 3"


def test_arguments_reach_the_job_byte_for_byte(slurm: Driver, tmp_path: Path) -> None:
    out = tmp_path / "args.out"
    (job,) = slurm.wait([slurm.run(["printf", "%s\\0", *NASTY], output_path=str(out), join_files=True)])
    assert job.state is JobState.DONE
    assert out.read_bytes().split(b"\0")[:-1] == [a.encode() for a in NASTY]


def test_input_file_and_joined_streams(slurm: Driver, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from stdin\n")
    job = slurm.run(["sh", "-c", "cat; echo err >&2"], input_path="in.txt", output_path="both.out",
                    join_files=True, working_directory=str(tmp_path))
    (job,) = slurm.wait([job])
    assert job.output_path == job.error_path == str(tmp_path / "both.out")
    assert sorted(read(job.output_path).splitlines()) == [b"err", b"from stdin"]


def test_kill_running_job_reports_the_signal(slurm: Driver) -> None:
    term = slurm.wait_for(slurm.run(["sleep", "60"]), JobState.RUNNING)
    kill = slurm.wait_for(slurm.run(["sleep", "60"]), JobState.RUNNING)
    slurm.backend.terminate(term, None)
    slurm.backend.terminate(kill, 9)
    term, kill = slurm.wait([term, kill])
    assert (term.state, term.signal, term.exit_status) == (JobState.FAILED, 15, None)
    assert term.annotation and "SIGTERM" in term.annotation
    assert (kill.state, kill.signal) == (JobState.FAILED, 9)


def test_hold_release_and_refusals(slurm: Driver) -> None:
    held = slurm.run(["true"], submit_as_hold=True)
    (held,) = slurm.refresh([held])
    assert held.state is JobState.QUEUED_HELD
    slurm.backend.release(held)
    (held,) = slurm.wait([held])
    assert held.state is JobState.DONE
    running = slurm.wait_for(slurm.run(["sleep", "30"]), JobState.RUNNING)
    with pytest.raises(InvalidState):
        slurm.backend.hold(running)
    slurm.backend.suspend(running)  # root may suspend
    assert slurm.wait_for(running, JobState.SUSPENDED).state is JobState.SUSPENDED
    slurm.backend.resume(slurm.jobs[running.id])
    assert slurm.wait_for(running, JobState.RUNNING).state is JobState.RUNNING
    slurm.backend.terminate(slurm.jobs[running.id], 9)
    slurm.wait([running])


def test_hold_a_queued_job(slurm: Driver) -> None:
    first = slurm.wait_for(slurm.run(["sleep", "30"]), JobState.RUNNING)
    (second,) = slurm.submit(JobTemplate(remote_command="true"), after=Dependencies([first], "any"))
    slurm.backend.hold(second)
    (second,) = slurm.refresh([second])
    assert second.state is JobState.QUEUED_HELD
    slurm.backend.release(second)
    slurm.backend.terminate(slurm.jobs[first.id], None)
    first, second = slurm.wait([first, second])
    assert second.state is JobState.DONE


def test_throttled_array_tasks_end_with_their_own_states(slurm: Driver, tmp_path: Path) -> None:
    template = JobTemplate(
        remote_command="sh",
        args=["-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_TASK_ID"; sleep 0.2; exit $((DRMAA2_TASK_ID % 3))'],
        output_path=str(tmp_path / "task-%a.out"), join_files=True,
    )
    tasks = slurm.submit(template, array=ArraySpec(1, 10, 1, 2))
    assert [t.native_id for t in tasks] == [f"{tasks[0].backend_data['array_job']}_{i}" for i in range(1, 11)]
    most = 0
    while not all(t.state.final for t in tasks):
        tasks = slurm.refresh(tasks)
        most = max(most, sum(t.state is JobState.RUNNING for t in tasks))
        slurm.backend.wait_any([t for t in tasks if not t.state.final], 0.5)
    assert most <= 2
    for index, task in enumerate(tasks, start=1):
        assert task.exit_status == index % 3
        assert task.state is (JobState.DONE if index % 3 == 0 else JobState.FAILED)
        assert read(task.output_path) == f"{task.id.replace('.', ' ')}\n".encode()
        assert task.output_path == str(tmp_path / f"task-{index}.out")


def test_failed_dependency_never_leaves_a_job_pending(slurm: Driver) -> None:
    first = slurm.run(["sh", "-c", "exit 1"])
    (ok,) = slurm.submit(JobTemplate(remote_command="true"), after=Dependencies([first], "ok"))
    # A cluster without kill_invalid_depend: the backend cancels the job itself.
    (ok_no_kill,) = slurm.submit(
        JobTemplate(remote_command="true", extension={"native": ["--kill-on-invalid-dep=no"]}),
        after=Dependencies([first], "ok"),
    )
    (any_,) = slurm.submit(JobTemplate(remote_command="true"), after=Dependencies([first], "any"))
    first, ok, ok_no_kill, any_ = slurm.wait([first, ok, ok_no_kill, any_])
    assert first.exit_status == 1
    for job in (ok, ok_no_kill):
        assert job.state is JobState.FAILED and job.exit_status is None
        assert job.annotation and "dependency failed" in job.annotation
    assert any_.state is JobState.DONE


def test_dependency_on_success_runs(slurm: Driver) -> None:
    first = slurm.run(["true"])
    (then,) = slurm.submit(JobTemplate(remote_command="true"), after=Dependencies([first], "ok"))
    assert [j.state for j in slurm.wait([first, then])] == [JobState.DONE, JobState.DONE]


def test_job_that_cannot_start(slurm: Driver, tmp_path: Path) -> None:
    (job,) = slurm.wait([slurm.run(["cat"], input_path=str(tmp_path / "missing"))])
    assert (job.state, job.exit_status, job.signal) == (JobState.FAILED, None, None)
    assert job.annotation == "could not start (JobLaunchFailure)"
    with pytest.raises(InvalidArgument, match="working directory"):
        slurm.run(["true"], working_directory=str(tmp_path / "missing"))
    with pytest.raises(InvalidArgument, match="output"):
        slurm.run(["true"], error_path=str(tmp_path / "missing" / "err"))


def test_unknown_job_keeps_its_last_state(slurm: Driver) -> None:
    ghost = JobInfo(id="1", session="s", backend="slurm", state=JobState.RUNNING, native_id="99999999")
    assert slurm.backend.refresh([ghost]) == []


def test_prepare_refuses_what_slurm_cannot_run(slurm: Driver) -> None:
    with pytest.raises(InvalidArgument, match="partition"):
        slurm.backend.prepare(JobTemplate(remote_command="true", queue_name="nosuchpartition"))
    with pytest.raises(UnsupportedAttribute):
        slurm.backend.prepare(JobTemplate(remote_command="true", job_category="alpine"))
    with pytest.raises(InvalidArgument, match="environment variable"):
        slurm.run(["true"], job_environment={"NOT-A-NAME": "x"})


def test_unreachable_or_missing_scheduler(slurm_env: dict[str, str], tmp_path: Path) -> None:
    conf = tmp_path / "slurm.conf"
    text = Path(slurm_env["SLURM_CONF"]).read_text().replace("SlurmctldPort=6817", "SlurmctldPort=6999")
    conf.write_text(text + "MessageTimeout=1\n")  # sbatch retries for MessageTimeout (10 s by default)
    env = {**os.environ, **slurm_env, "SLURM_CONF": str(conf)}
    backend = SlurmBackend(BackendContext(home=tmp_path, environ=env))
    with pytest.raises(BackendUnavailable) as err:
        backend.prepare(JobTemplate(remote_command="true"))
    assert "\n" not in str(err.value)
    backend = SlurmBackend(BackendContext(home=tmp_path, environ={**env, "PATH": str(tmp_path)}))
    with pytest.raises(BackendUnavailable, match="sbatch not found"):
        backend.prepare(JobTemplate(remote_command="true"))

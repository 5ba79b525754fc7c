"""What only the Slurm backend does, against a real slurmctld/slurmd (tests/infra/slurm.sh); what it shares
with Grid Engine is in tests/sched/test_sched_backends.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.sched.slurm import SlurmBackend
from drmaa2cli.errors import BackendUnavailable, InvalidArgument, UnsupportedAttribute
from drmaa2cli.models import Dependencies, JobState, JobTemplate
from tests.conftest import Cli
from tests.slurm.sched_driver import Driver


def test_kill_running_job_reports_the_signal(slurm: Driver) -> None:
    term = slurm.wait_for(slurm.run(["sleep", "600"]), JobState.RUNNING)
    kill = slurm.wait_for(slurm.run(["sleep", "600"]), JobState.RUNNING)
    slurm.backend.terminate(term, None)
    slurm.backend.terminate(kill, 9)
    term, kill = slurm.wait([term, kill])
    assert (term.state, term.signal, term.exit_status) == (JobState.FAILED, 15, None)
    assert term.annotation and "SIGTERM" in term.annotation
    assert (kill.state, kill.signal) == (JobState.FAILED, 9)


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
        assert job.annotation == f"dependency {first.id} failed" and job.dispatch_time is None
    assert any_.state is JobState.DONE


def test_dependency_on_success_runs(slurm: Driver) -> None:
    first = slurm.run(["true"])
    (then,) = slurm.submit(JobTemplate(remote_command="true"), after=Dependencies([first], "ok"))
    assert [j.state for j in slurm.wait([first, then])] == [JobState.DONE, JobState.DONE]


def test_job_that_cannot_start(slurm: Driver, tmp_path: Path) -> None:
    (job,) = slurm.wait([slurm.run(["cat"], input_path=str(tmp_path / "missing"))])
    assert (job.state, job.exit_status, job.signal) == (JobState.FAILED, None, None)
    assert job.annotation == "could not start (JobLaunchFailure)"


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


def test_the_annotation_follows_the_state(cli: Cli, slurm_env: dict[str, str]) -> None:
    """Held (Slurm's reason JobHeldUser), released and ended: each state's own annotation, the hold's not kept."""
    cli.env.update(slurm_env)
    job = cli.submit("true", options=["--backend", "slurm", "--hold"])
    info = cli.info(job)
    assert (info["state"], info["annotation"]) == ("queued_held", "JobHeldUser"), info
    assert cli("release", job).code == 0
    assert cli("wait", "--timeout", "120", job, timeout=180).code == 0
    info = cli.info(job)
    assert (info["state"], info["annotation"]) == ("done", None), info

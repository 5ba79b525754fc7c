"""What only the Grid Engine backend does, against a real sge_qmaster/sge_execd (tests/infra/gridengine.sh);
what it shares with Slurm is in tests/sched/test_sched_backends.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.sched import common
from drmaa2cli.backends.sched import gridengine_cmd as cmd
from drmaa2cli.backends.sched.gridengine import GridEngineBackend
from drmaa2cli.errors import (
    BackendUnavailable,
    InvalidArgument,
    UnsupportedAttribute,
    UnsupportedOperation,
)
from drmaa2cli.models import Dependencies, JobInfo, JobState, JobTemplate
from tests.conftest import Cli
from tests.slurm.sched_driver import Driver


def test_kill_running_job_reports_the_signal(gridengine: Driver) -> None:
    job = gridengine.wait_for(gridengine.run(["sleep", "600"]), JobState.RUNNING)
    with pytest.raises(UnsupportedOperation):
        gridengine.backend.terminate(job, 10)
    gridengine.backend.terminate(job, None)
    (job,) = gridengine.wait([job])
    # SIGTERM from the job's watcher, as on the other backends (qdel would send SIGKILL).
    assert (job.state, job.signal, job.exit_status) == (JobState.FAILED, 15, None)
    assert job.exit_code() == 143 and job.annotation == "killed by drmaa2 kill (SIGTERM)"


def test_kill_pending_job(gridengine: Driver) -> None:
    job = gridengine.run(["true"], submit_as_hold=True)
    gridengine.backend.terminate(job, None)
    (job,) = gridengine.wait([job])
    assert (job.state, job.exit_status) == (JobState.FAILED, None)
    assert job.annotation == "killed by drmaa2 kill before it started" and job.dispatch_time is None


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
    paths = common.Paths(str(tmp_path), str(tmp_path / "then.out"), None)
    argv = cmd.build_submit_command(JobTemplate(remote_command="true"), paths, job_name="then",
                                    after=common.After([str(first.native_id)], "any"))
    script = common.job_script(common.JobSpec("then", "test", ["true"]))
    native = cmd.parse_submit_output(common.run(argv, env, script).stdout)
    then = JobInfo(id="then", session="test", backend="gridengine", state=JobState.QUEUED, native_id=native)
    gridengine.jobs[then.id] = then
    first, then = gridengine.wait([first, then])
    assert (first.exit_status, then.state) == (1, JobState.DONE)
    with pytest.raises(UnsupportedAttribute):
        gridengine.backend.prepare(JobTemplate(remote_command="true"), after=Dependencies([first]))


def test_unreachable_or_missing_scheduler(gridengine_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **gridengine_env, "SGE_CELL": "nosuchcell"}
    backend = GridEngineBackend(BackendContext(home=tmp_path, environ=env))
    with pytest.raises(BackendUnavailable) as err:
        backend.prepare(JobTemplate(remote_command="true"))
    assert "\n" not in str(err.value)
    backend = GridEngineBackend(BackendContext(home=tmp_path, environ={**env, "PATH": str(tmp_path)}))
    with pytest.raises(BackendUnavailable, match="qsub not found"):
        backend.prepare(JobTemplate(remote_command="true"))


def test_timeout_kills_the_job(gridengine: Driver) -> None:
    """The job's watcher sends SIGTERM at the timeout; h_rt, which would send SIGKILL, is only a backstop
    beyond the grace period."""
    (job,) = gridengine.wait([gridengine.run(["sleep", "60"], timeout=2)])
    assert (job.state, job.signal) == (JobState.FAILED, 15)
    assert job.annotation == "timed out after 2s"


def test_a_job_qsub_would_reject_is_refused_before_any_record(gridengine: Driver, cli: Cli,
                                                              gridengine_env: dict[str, str]) -> None:
    """``qsub -w v`` in ``prepare``: an unknown queue, more slots than the cell has are refused (201) with
    Grid Engine's words, and the CLI leaves no record, as for every other refusal."""
    for fields in ({"queue_name": "no-such.q"}, {"resource_limits": {"cpus": 64}}):
        with pytest.raises(InvalidArgument, match=r"^grid engine refused the job: "):
            gridengine.backend.prepare(JobTemplate(remote_command="true", **fields))
    r = cli("submit", "--backend", "gridengine", "--wait", "--native", "-q no-such.q", "--", "true",
            env=gridengine_env)
    assert r.code == 201 and r.err.count("\n") == 1 and 'unknown queue "no-such.q"' in r.err, r
    assert cli("status", "--json", "--all").json()["jobs"] == []


def test_queues_list_their_hosts(gridengine: Driver) -> None:
    hosts = [m.name for m in gridengine.backend.machines()]
    queues = {q.name: q for q in gridengine.backend.queues()}
    assert hosts and queues["all.q"].machines == hosts, (hosts, queues)


def test_an_array_cut_by_the_limit_is_summed_up_whole(cli: Cli, gridengine_env: dict[str, str]) -> None:
    """`status -n 3` after a 4-task array and a job shows two of its tasks; its line counts all four."""
    cli.env.update(gridengine_env)
    array = cli.submit("true", options=["--backend", "gridengine", "--array", "1-4"])
    assert cli("wait", "--timeout", "120", array, timeout=180).code == 0
    assert cli("submit", "--backend", "gridengine", "--wait", "--", "true", timeout=180).code == 0
    r = cli("status", "-n", "3")
    assert r.code == 0 and f"array {array}: 4 tasks: 4 done" in r.out, r
    (summary,) = cli("status", "-n", "3", "--json").json()["arrays"]
    assert (summary["tasks"], summary["counts"]) == (4, {"done": 4}), summary

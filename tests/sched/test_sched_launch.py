"""What a submission to a scheduler binds to a record before it is committed, the same through the scheduler's
commands (Slurm, Grid Engine) and through its DRMAA library, and the states a scheduler suspends and resumes
from. In-process: no scheduler is asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.libdrmaa.backend import LibDrmaaLaunch
from drmaa2cli.backends.sched import common
from drmaa2cli.errors import InvalidState
from drmaa2cli.models import ArraySpec, JobInfo, JobState, JobTemplate


class _Backend:
    """The little of a backend that a launch reads before it starts anything."""

    task_var = "SLURM_ARRAY_TASK_ID"

    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx


def _launch(kind: str, ctx: BackendContext, template: JobTemplate, array: ArraySpec | None,
            after: common.After | None = None) -> common.SchedLaunch:
    backend: Any = _Backend(ctx)
    if kind == "script":
        return common.ScriptLaunch(backend, template, array, after)
    return LibDrmaaLaunch(backend, template, array)


def _job(job_id: str, template: JobTemplate, state: JobState = JobState.QUEUED) -> JobInfo:
    return JobInfo(id=job_id, session="default", backend="slurm", state=state, template=template,
                   submission_time=0.0)


@pytest.mark.parametrize("kind", ["script", "library"])
def test_a_single_job_gets_its_files_in_the_home_or_where_asked(kind: str, tmp_path: Path) -> None:
    ctx = BackendContext(home=tmp_path / "home")
    plain = JobTemplate(remote_command="true", working_directory=str(tmp_path))
    job = _job("7", plain)
    _launch(kind, ctx, plain, None).bind(job)
    assert (job.output_path, job.error_path) == (ctx.default_output("7", "out"), ctx.default_output("7", "err"))

    joined = JobTemplate(remote_command="true", working_directory=str(tmp_path), output_path="o.txt",
                         join_files=True)
    job = _job("8", joined)
    _launch(kind, ctx, joined, None).bind(job)
    assert job.output_path == job.error_path == str(tmp_path / "o.txt")  # relative to the working directory


@pytest.mark.parametrize("kind", ["script", "library"])
def test_each_array_task_gets_its_own_files(kind: str, tmp_path: Path) -> None:
    ctx = BackendContext(home=tmp_path / "home")
    template = JobTemplate(remote_command="true", working_directory=str(tmp_path), output_path="out.%A.%a",
                           error_path="/logs/%j.err")
    launch = _launch(kind, ctx, template, ArraySpec(1, 3))
    tasks = [_job(f"12.{i}", template) for i in (1, 2, 3)]
    for task in tasks:
        launch.bind(task)
    assert [t.output_path for t in tasks] == [str(tmp_path / f"out.12.{i}") for i in (1, 2, 3)]
    assert [t.error_path for t in tasks] == [f"/logs/12.{i}.err" for i in (1, 2, 3)]


def test_a_script_launch_keeps_the_ids_its_job_waits_for(tmp_path: Path) -> None:
    ctx = BackendContext(home=tmp_path)
    template = JobTemplate(remote_command="true", working_directory=str(tmp_path))
    job = _job("9", template)
    _launch("script", ctx, template, None, common.After(["1001"], ids=["4"])).bind(job)
    assert job.backend_data["after"] == ["4"]
    alone = _job("10", template)
    _launch("script", ctx, template, None, common.After(["1001"])).bind(alone)
    assert "after" not in alone.backend_data  # no drmaa2 id to name in the words of its failure


@pytest.mark.parametrize(("action", "allowed", "words"), [
    ("suspend", JobState.RUNNING, "only running jobs can be suspended"),
    ("resume", JobState.SUSPENDED, "only suspended jobs can be resumed"),
])
def test_a_scheduler_suspends_running_jobs_and_resumes_suspended_ones(action: str, allowed: JobState,
                                                                     words: str) -> None:
    template = JobTemplate(remote_command="true")
    common.check_control(_job("3", template, allowed), action)
    for state in (JobState.QUEUED, JobState.QUEUED_HELD, JobState.DONE,
                  JobState.SUSPENDED if allowed is JobState.RUNNING else JobState.RUNNING):
        with pytest.raises(InvalidState, match=f"^job 3 is {state.value}: {words}$"):
            common.check_control(_job("3", template, state), action)

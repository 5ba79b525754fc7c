"""Jobs run as containers: exit statuses, output files, environment, directories, mounts, users."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from drmaa2cli.models import JobState
from tests.docker.fixtures import IMAGE, Jobs


@pytest.mark.parametrize("code", [0, 3])
def test_exit_status_and_output_outlive_the_submitter(jobs: Jobs, code: int) -> None:
    job = jobs.run("sh", "-c", f"echo out; echo err >&2; exit {code}")
    # The files exist from submission on (so they can be followed), private to the user.
    for path in (job.output_path, job.error_path):
        assert path is not None
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    done = jobs.finish(job)  # fresh backend instances: the submitter is gone

    assert done.state is (JobState.DONE if code == 0 else JobState.FAILED)
    assert done.exit_status == code and done.signal is None
    assert done.exit_code() == code
    assert (done.annotation is None) == (code == 0)
    assert done.dispatch_time is not None and done.finish_time is not None
    assert done.finish_time >= done.dispatch_time
    assert Path(str(done.output_path)).read_text() == "out\n"
    assert Path(str(done.error_path)).read_text() == "err\n"
    assert jobs.containers() == [], "a finished job's container is removed once its output is saved"


def test_output_paths_given_and_joined(jobs: Jobs, tmp_path: Path) -> None:
    log = tmp_path / "both.log"
    job = jobs.run("sh", "-c", "echo one; echo two >&2; echo three", output_path=str(log), join_files=True)
    assert job.output_path == job.error_path == str(log)
    assert jobs.finish(job).state is JobState.DONE
    lines = log.read_text().splitlines()
    # The engine reads stdout and stderr through separate pipes: the order within each stream is kept, the
    # order between them is not (as with `docker logs`).
    assert sorted(lines) == ["one", "three", "two"]
    assert lines.index("one") < lines.index("three")


def test_command_and_arguments_byte_for_byte(jobs: Jobs) -> None:
    args = ["a b", "", "$HOME", "*", "'quoted'", '"dq"', "tab\there", "ünï"]
    job = jobs.finish(jobs.run("printf", "[%s]\\n", *args))
    assert job.state is JobState.DONE
    assert Path(str(job.output_path)).read_text().splitlines() == [f"[{a}]" for a in args]


def test_environment_and_working_directory(jobs: Jobs) -> None:
    job = jobs.run(
        "sh",
        "-c",
        'echo "$GREETING|$DRMAA2_JOB_ID|$DRMAA2_SESSION|$(pwd)"',
        job_environment={"GREETING": "hello world"},
        working_directory="/tmp/work/here",
    )
    job = jobs.finish(job)
    assert Path(str(job.output_path)).read_text() == f"hello world|{job.id}|tests|/tmp/work/here\n"


def test_array_task_variables_and_container_name(jobs: Jobs) -> None:
    job = jobs.submit(jobs.template("sh", "-c", 'echo "$DRMAA2_JOB_ID.$DRMAA2_TASK_ID"'), job_id="7.3")
    assert job.native_id == f"drmaa2-{jobs.instance}-7.3"
    job = jobs.finish(job)
    assert Path(str(job.output_path)).read_text() == "7.3\n"


def test_mounts_read_only_and_read_write(jobs: Jobs, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "data.txt").write_text("payload\n")
    out = tmp_path / "out"
    out.mkdir()
    script = "cat /in/data.txt; echo made > /out/new.txt; if touch /in/x 2>/dev/null; then echo WROTE-RO; fi"
    job = jobs.run("sh", "-c", script, stage_in_files={str(src): "/in:ro", str(out): "/out"})
    job = jobs.finish(job)
    assert job.state is JobState.DONE, job.annotation
    assert Path(str(job.output_path)).read_text() == "payload\n"
    assert (out / "new.txt").read_text() == "made\n"
    assert not (src / "x").exists()


def test_user_extension(jobs: Jobs) -> None:
    job = jobs.finish(jobs.run("id", "-u", extension={"user": "nobody"}))
    assert Path(str(job.output_path)).read_text() == "65534\n"


def test_missing_command_exits_127_with_the_reason_in_the_error_file(jobs: Jobs) -> None:
    job = jobs.finish(jobs.run("/no/such/command"))
    if jobs.engine_name == "podman":  # its init, catatonit, says so in its own words, with status 1
        assert job.state is JobState.FAILED and job.exit_status == 1
        assert "failed to exec pid1: No such file" in Path(str(job.error_path)).read_text()
        return
    assert job.state is JobState.FAILED and job.exit_status == 127
    assert "/no/such/command" in Path(str(job.error_path)).read_text()


def test_missing_command_without_init_fails_at_start_with_127(jobs: Jobs) -> None:
    job = jobs.run("/no/such/command", extension={"native": ["init=false"]})
    # The engine refuses to start it: the submitter records the end itself.
    assert job.state is JobState.FAILED and job.exit_status == 127
    assert job.annotation is not None and job.annotation.startswith("cannot start: ")
    assert jobs.containers() == []


def test_container_is_recognisable_from_the_engine(jobs: Jobs) -> None:
    job = jobs.run("sleep", "30", job_name="nightly", job_environment={"TOKEN": "s3cret"})
    try:
        [container] = jobs.containers()
        labels = container["Labels"]
        assert container["Names"] == [f"/drmaa2-{jobs.instance}-{job.id}"] == [f"/{job.native_id}"]
        assert labels["drmaa2.session"] == "tests" and labels["drmaa2.job"] == job.id
        assert labels["drmaa2.name"] == "nightly" and labels["drmaa2.output"] == job.output_path
        template = json.loads(labels["drmaa2.template"])
        assert template["remote_command"] == "sleep" and template["args"] == ["30"]
        assert template["job_category"] == IMAGE
        assert template["job_environment"] == ["TOKEN"]
        assert "s3cret" not in json.dumps(labels)
    finally:
        jobs.backend().terminate(job, 9)
    assert jobs.finish(job).signal == 9


def test_docker_host_from_the_context_environment(jobs: Jobs) -> None:
    socket = "unix:///var/run/docker.sock"
    jobs.environ = {**jobs.environ, "DOCKER_HOST": os.environ.get("DOCKER_HOST", socket)}
    job = jobs.finish(jobs.run("true"))
    assert job.state is JobState.DONE
    assert job.backend_data["engine"] == jobs.environ["DOCKER_HOST"]

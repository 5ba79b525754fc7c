"""What goes wrong: no image, no engine, no permission, templates a container cannot honour, submitters
that die half-way, and several drmaa2 processes finalising one job at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drmaa2cli.errors import BackendUnavailable, DeniedByDrms, InvalidArgument, UnsupportedAttribute
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from tests.docker.fixtures import IMAGE, Jobs
from tests.requires import unavailable

HERE = Path(__file__).resolve().parent


def test_missing_image_is_one_clear_line_and_nothing_is_created(jobs: Jobs) -> None:
    with pytest.raises(InvalidArgument) as err:
        jobs.backend().prepare(JobTemplate(remote_command="true", job_category="drmaa2-test/absent:1"))
    assert str(err.value) == "image drmaa2-test/absent:1 is not present locally; pull it or use --pull"
    assert jobs.containers() == []


def test_pull_failure_names_the_image(jobs: Jobs) -> None:
    # No registry is reachable here, so a pull can only fail; the message says which image and why.
    template = JobTemplate(remote_command="true", job_category="drmaa2-test/absent:1", extension={"pull": True})
    with pytest.raises((BackendUnavailable, InvalidArgument)) as err:
        jobs.backend().prepare(template)
    assert str(err.value).startswith("cannot pull image drmaa2-test/absent:1: ")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("transport", ["standard library", "sdk"])
def test_engine_not_running(jobs: Jobs, tmp_path: Path, transport: str, request: pytest.FixtureRequest) -> None:
    if transport == "sdk":
        request.getfixturevalue("sdk")
    jobs.environ = {**jobs.environ, "DOCKER_HOST": f"unix://{tmp_path}/nothing-listens.sock"}
    with pytest.raises(BackendUnavailable) as err:
        jobs.backend().prepare(jobs.template("true"))
    assert str(err.value) == (
        f"cannot reach the Docker engine at DOCKER_HOST=unix://{tmp_path}/nothing-listens.sock: "
        "No such file or directory"
    )
    assert not (jobs.home / "run").exists(), "nothing is written when the engine is down"


SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


# The docker engine's socket permissions (root:docker 0660) are what is tested: Podman's socket has no group.
@pytest.mark.parametrize("docker_engine", ["docker"], indirect=True)
def test_socket_permission_denied(jobs: Jobs) -> None:
    if (os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON)
            or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock") != "unix:///var/run/docker.sock"):
        unavailable(f"needs root, {SYSTEM_PYTHON} and the engine on the default socket")
    # The real socket is root:docker 0660: "nobody" may not use it. The system's Python of the same
    # version runs the check (this venv's may live where "nobody" cannot read); the docker backend needs
    # nothing beyond the standard library to reach a unix socket.
    code = (
        "import pathlib, tempfile; from drmaa2cli.backends.base import BackendContext;"
        "from drmaa2cli.backends.docker.backend import DockerBackend; from drmaa2cli.models import JobTemplate;"
        "ctx = BackendContext(home=pathlib.Path(tempfile.mkdtemp()), environ={});"
        f"DockerBackend(ctx).prepare(JobTemplate(remote_command='true', job_category={IMAGE!r}))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(HERE.parents[1]), "HOME": "/tmp"}
    run = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", SYSTEM_PYTHON, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.stderr.strip().splitlines()[-1] == (
        f"drmaa2cli.errors.{DeniedByDrms.__name__}: permission denied on the Docker engine at "
        "unix:///var/run/docker.sock; use a user in the docker group or set DOCKER_HOST"
    ), run.stderr


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input_path": "/etc/hostname"}, "the docker backend cannot honour input path"),
        ({"queue_name": "fast"}, "the docker backend cannot honour queue name"),
        ({"resource_limits": {"disk_mb": 10}}, "the docker backend cannot honour a disk limit"),
        ({"working_directory": "relative/dir"}, "must be an absolute path inside the container"),
        ({"stage_in_files": {"/no/such/dir": "/in"}}, "mount source /no/such/dir does not exist"),
        ({"stage_in_files": {"/tmp": "in"}}, "mount target in must be an absolute path"),
        ({"extension": {"native": ["privileged=true"]}}, "native option 'privileged=true' is not one of"),
        ({"job_category": None}, "the docker backend needs an image (--image)"),
        ({"output_path": "/no/such/dir/out"}, "the directory for output file /no/such/dir/out does not"),
    ],
)
def test_templates_a_container_cannot_honour(jobs: Jobs, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        jobs.backend().prepare(jobs.template("true", **fields))
    assert message in str(err.value)
    if "cannot honour" in message:
        assert isinstance(err.value, UnsupportedAttribute)


SUBMITTER = """
import json, pathlib, sys
from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.docker.backend import DockerBackend
from drmaa2cli.models import JobInfo, JobTemplate
home, instance, stage = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
template = JobTemplate(remote_command="echo", args=["hi"], job_category=sys.argv[4])
launch = DockerBackend(BackendContext(home=home, instance=instance)).prepare(template)
job = JobInfo(id="1", session="tests", backend="docker", template=template, submission_time=0)
launch.bind(job)
print(json.dumps(job.to_record()), flush=True)
if stage == "created":
    def start(name):
        raise SystemExit(9)  # dies between creating and starting the container
    launch.engine.start = start
    launch.start(job)
"""


@pytest.mark.parametrize("stage", ["bound", "created"])
def test_submitter_that_died_half_way(jobs: Jobs, stage: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SUBMITTER, str(jobs.home), jobs.instance, stage, IMAGE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    job = JobInfo.from_record(json.loads(run.stdout.splitlines()[0]))
    assert len(jobs.containers()) == (1 if stage == "created" else 0)
    job = jobs.refresh(job)
    assert job.state is JobState.FAILED
    expected = (
        "never started: its submitter exited before starting it"
        if stage == "created"
        else (f"no container {job.native_id} on the engine: never created, or removed outside drmaa2")
    )
    assert job.annotation == expected
    assert jobs.containers() == []


FINALISER = """
import json, pathlib, sys
from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.docker import finish as docker_finish
from drmaa2cli.backends.docker.backend import DockerBackend
from drmaa2cli.models import JobInfo
home, instance, record, tally = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
save = docker_finish.Finisher._save_output
def counted(self, engine, job):
    with open(tally, "a") as f:
        f.write("saved\\n")
    return save(self, engine, job)
docker_finish.Finisher._save_output = counted
backend = DockerBackend(BackendContext(home=home, instance=instance))
[job] = backend.refresh([JobInfo.from_record(json.loads(record))])
print(json.dumps(job.to_record()))
"""


def test_concurrent_refreshers_finalise_once(jobs: Jobs, tmp_path: Path) -> None:
    job = jobs.run("sh", "-c", "echo out; echo err >&2; exit 5")
    backend = jobs.backend()
    while not any(c["State"] == "exited" for c in jobs.containers()):
        backend.wait_any([job], 30)
    tally = tmp_path / "tally"
    record = json.dumps(job.to_record())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FINALISER, str(jobs.home), jobs.instance, record, str(tally)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert tally.read_text() == "saved\n", "the output was copied by more than one process"
    assert all(r == results[0] for r in results), results
    assert results[0]["exit_status"] == 5 and results[0]["state"] == "failed"
    assert Path(str(job.output_path)).read_text() == "out\n"
    assert Path(str(job.error_path)).read_text() == "err\n"
    assert jobs.containers() == []


def test_output_that_cannot_be_saved_keeps_the_container_until_cleanup(jobs: Jobs, tmp_path: Path) -> None:
    outdir = tmp_path / "gone"
    outdir.mkdir()
    job = jobs.run("echo", "precious", output_path=str(outdir / "out"))
    (outdir / "out").unlink()
    outdir.rmdir()
    job = jobs.finish(job)
    assert job.state is JobState.DONE
    assert job.annotation is not None and f"container {job.native_id} kept" in job.annotation
    [container] = jobs.containers()
    assert b"".join(jobs.engine.logs(container["Id"], stdout=True, stderr=True)) == b"precious\n"
    jobs.backend().cleanup(job)
    assert jobs.containers() == []
    # Nothing of the job is left; the engine's cgroup driver, learnt once per home for accounting, stays.
    assert [p.name for p in (jobs.home / "run").iterdir() if p.name != "engine-cgroup-driver.json"] == []


def test_pull_of_an_image_that_is_present_asks_no_registry(jobs: Jobs) -> None:
    # No registry is reachable here: this can only pass if nothing was pulled.
    job = jobs.finish(jobs.run("true", extension={"pull": True}))
    assert job.state is JobState.DONE


@pytest.mark.parametrize(
    "status, message",
    [
        (409, "Container abc is not paused"),
        # Docker unpauses a paused container itself after a kill; an unpause of ours that comes second gets this.
        (500, "Cannot unpause container abc: cannot resume a running process: unknown"),
    ],
)
def test_state_conflicts_are_invalid_state_not_engine_failures(status: int, message: str) -> None:
    from drmaa2cli.backends.docker.engine import Engine
    from drmaa2cli.errors import InvalidState

    error = Engine({})._status_error(status, message)
    assert type(error) is InvalidState, error

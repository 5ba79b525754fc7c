"""What the Slurm and Grid Engine backends must both do, run against each real scheduler through a parameter
(tests/infra/slurm.sh, tests/infra/gridengine.sh). What only one of them does is tested in tests/slurm and
tests/gridengine."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from drmaa2cli.backends.sched import common
from drmaa2cli.errors import InvalidArgument, InvalidState
from drmaa2cli.models import ArraySpec, JobInfo, JobState, JobTemplate
from drmaa2cli.procfs import alive
from drmaa2cli.store import Store
from tests.conftest import Cli, Result
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


def test_a_sigkill_the_watcher_carried_out_first_is_still_a_kill(sched: Driver) -> None:
    """``kill -s KILL`` writes its request for the job's watcher, then asks the scheduler: a watcher that starts
    in between ends the job first, and the scheduler's cancel then finds no job. That is not "already ended"."""
    running = sched.wait_for(sched.run(["sleep", "600"]), JobState.RUNNING)
    common.write_control(sched.backend._control_prefix(running) + ".kill", "9")  # as terminate does first
    (ended,) = sched.wait([running])
    sched.backend.terminate(running, 9)  # the record still says running, as the CLI's did
    assert (ended.state, ended.signal) == (JobState.FAILED, 9)
    by_itself = sched.run(["true"])
    sched.wait([by_itself])
    with pytest.raises(InvalidState):  # a job that ended by itself is still reported as ended
        sched.backend.terminate(by_itself, 9)


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


# --- through the CLI, the way a user meets these backends ------------------------------------------------------
class SchedCli:
    """The CLI with this scheduler's client environment and ``--backend``; ``cleanup`` cancels every native job
    that carries one of the names given to ``name`` and ends the runners this test made start."""

    def __init__(self, cli: Cli, driver: Driver) -> None:
        self.cli = cli
        self.backend = driver.backend.name
        environ = driver.backend.ctx.environ
        self.env = {k: environ[k] for k in ("SLURM_CONF", "SGE_ROOT", "SGE_CELL") if k in environ}
        self.names: list[str] = []
        self.runners: list[tuple[int, int | None]] = []

    def __call__(self, *args: str, timeout: float = 120) -> Result:
        return self.cli(*args, env=self.env, timeout=timeout)

    def info(self, job_id: str) -> dict[str, Any]:
        r = self("status", "--json", job_id)
        assert r.code == 0, r.err
        (job,) = r.json()["jobs"]
        return cast(dict[str, Any], job)

    def name(self, prefix: str) -> str:
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        return name

    def submit(self, *command: str, options: Sequence[str] = ()) -> str:
        r = self("submit", "--terse", "--backend", self.backend, *options, "--", *command)
        assert r.code == 0, r.err
        job_id = r.out.strip()
        for job in Store(self.cli.home).snapshot().tasks(int(job_id.split(".")[0])):
            deferred = job.backend_data.get("deferred")
            if deferred:
                self.runners.append((int(deferred["runner"]), deferred.get("runner_start")))
        return job_id

    def native_ids(self, name: str) -> set[str]:
        """The scheduler's ids of every job named ``name`` it knows, pending, running or ended: each one a
        real submission."""
        if self.backend == "slurm":
            out = self.run(["squeue", "--noheader", "--states=all", f"--name={name}", "--format=%i"])
            return {line.strip() for line in out.splitlines() if line.strip()}
        ids = set()
        for item in ET.fromstring(self.run(["qstat", "-xml"])).iter("job_list"):
            if item.findtext("JB_name") == name:
                ids.add(item.findtext("JB_job_number", ""))
        ids |= set(re.findall(r"^jobnumber\s+(\d+)", self.run(["qacct", "-j", name], check=False), re.M))
        return ids

    def run(self, argv: list[str], check: bool = True) -> str:
        proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **self.env}, timeout=60,
                              check=False)
        assert proc.returncode == 0 or not check, proc.stderr
        return proc.stdout

    def cleanup(self) -> None:
        for pid, start in self.runners:
            if alive(pid, start):
                os.kill(pid, signal.SIGKILL)
        for name in self.names:
            if self.backend == "slurm":
                self.run(["scancel", f"--name={name}"], check=False)
            else:
                self.run(["qdel", name], check=False)


@pytest.fixture
def sched_cli(sched: Driver, cli: Cli) -> Iterator[SchedCli]:
    driver = SchedCli(cli, sched)
    yield driver
    driver.cleanup()


def test_dependent_job_is_submitted_exactly_once(sched_cli: SchedCli) -> None:
    """Grid Engine leaves dependencies on success to drmaa2's runner; it used to submit the job again and
    again (the record kept the runner's "deferred" mark after the start), and `wait` never returned."""
    first = sched_cli.submit("sleep", "2")
    name = sched_cli.name("dep")
    dep = sched_cli.submit("echo", "dep", options=["--name", name, "--after", first])
    r = sched_cli("wait", "--timeout", "45s", dep)
    assert r.code == 0, (r.code, r.err, sched_cli.info(dep))
    info = sched_cli.info(dep)
    assert info["state"] == "done"
    # The runner is done once the job started; only then can no further copy appear.
    deadline = time.monotonic() + 30
    while any(alive(pid, start) for pid, start in sched_cli.runners):
        assert time.monotonic() < deadline, "the runner did not exit after starting the job"
        time.sleep(0.1)
    assert sched_cli.native_ids(name) == {info["native_id"]}


def test_times_are_in_order(sched: Driver) -> None:
    """Both schedulers report whole seconds, drmaa2 records the submission to the microsecond: a job that
    started within the second it was submitted used to start "before" its submission."""
    jobs = []
    for argv in (["true"], ["true"], ["sh", "-c", "exit 2"]):
        # Submitted just after a second began, a job is likely to start within that second, which the
        # scheduler then reports as its start: earlier than the submission's fraction of a second.
        time.sleep(1 - time.time() % 1)
        jobs.append(sched.run(argv))
    seen = []
    while not all(j.state.final for j in jobs):
        jobs = sched.refresh(jobs)
        seen.extend(j for j in jobs if j.dispatch_time is not None)  # running ones too
        sched.backend.wait_any([j for j in jobs if not j.state.final], 0.5)
        assert len(seen) < 10_000
    for job in seen + jobs:
        assert job.submission_time is not None and job.dispatch_time is not None
        assert job.submission_time <= job.dispatch_time, job
        assert job.finish_time is None or job.dispatch_time <= job.finish_time, job


def test_output_files_are_private(sched: Driver, tmp_path: Path) -> None:
    """drmaa2 creates every file it writes for a job 0600; the schedulers' daemons would create them 0644."""
    script = ["sh", "-c", "echo out; echo err >&2"]
    jobs = [
        sched.run(script),
        sched.run(script, join_files=True),
        sched.run(script, output_path=str(tmp_path / "user.out"), error_path=str(tmp_path / "user.err")),
        sched.run(script, output_path=str(tmp_path / "joined.out"), join_files=True),
    ]
    tasks = sched.submit(JobTemplate(remote_command="sh", args=["-c", "echo out; echo err >&2"],
                                     output_path=str(tmp_path / "task-%a.out")), array=ArraySpec(1, 2))
    jobs = sched.wait(jobs + tasks)
    paths = {p for j in jobs for p in (j.output_path, j.error_path) if p}
    assert len(paths) == 10
    for path in paths:
        assert read(path).strip(), path  # the job wrote there
        assert Path(path).stat().st_mode & 0o777 == 0o600, path


#: A job that ignores SIGTERM (and so does the sleep it starts, which inherits that).
IGNORES_TERM = ("sh", "-c", "trap '' TERM; echo ready; sleep 600")  # ended by the test, never by itself


def wait_running(sched_cli: SchedCli, *job_ids: str) -> None:
    """Until every job runs and has printed "ready" if it prints anything (a deadline, not a measurement)."""
    deadline = time.monotonic() + 300  # other users' jobs may occupy the test cluster's two CPUs for a while
    for job_id in job_ids:
        while True:
            info = sched_cli.info(job_id)
            out = Path(info["output_path"])
            if info["state"] == "running" and (info["command"][0] != "sh" or out.read_text().strip() == "ready"):
                break
            assert info["state"] in ("queued", "running") and time.monotonic() < deadline, info
            time.sleep(0.2)


def test_timeout_under_a_minute(sched_cli: SchedCli) -> None:
    """Slurm's --time has minute granularity (and is checked every 30 s): a 3 s timeout let `sleep 60` end
    done. The job's watcher enforces it: SIGTERM at the timeout, SIGKILL after the grace period."""
    r = sched_cli("submit", "--backend", sched_cli.backend, "--wait", "-t", "3s", "--name",
                  sched_cli.name("tmo"), "--", "sleep", "60")
    assert r.code == 143, r.err  # 128 + SIGTERM, as on the process backend
    (job_id,) = re.findall(r"Submitted job (\d+)", r.out)
    info = sched_cli.info(job_id)
    assert (info["state"], info["signal"], info["annotation"]) == ("failed", 15, "timed out after 3s")
    assert info["wallclock_time"] < 30  # far below the 60 s it would otherwise run (tolerance: 1 s)
    ignores = sched_cli.submit(*IGNORES_TERM, options=["-t", "3s", "--name", sched_cli.name("tmo")])
    assert sched_cli("wait", "--timeout", "90s", ignores).code == 137
    info = sched_cli.info(ignores)
    assert (info["state"], info["signal"]) == ("failed", 9)
    assert info["annotation"] == "timed out after 3s (SIGKILL after SIGTERM was ignored for 5s)"
    assert Path(info["output_path"]).read_text() == "ready\n"


def test_kill_is_sigterm_then_sigkill_after_the_grace(sched_cli: SchedCli) -> None:
    """`drmaa2 kill` as on the process backend: SIGTERM (Grid Engine's qdel sends SIGKILL at once: 137, not
    143), and SIGKILL 5 s later for a job that ignores it, with the signal that really ended the job named."""
    dies = sched_cli.submit("sleep", "600", options=["--name", sched_cli.name("kill")])
    ignores = sched_cli.submit(*IGNORES_TERM, options=["--name", sched_cli.name("kill")])
    wait_running(sched_cli, dies, ignores)
    r = sched_cli("kill", dies, ignores)
    assert r.code == 0, r.err
    assert sched_cli("wait", "--timeout", "90s", dies).code == 143
    assert sched_cli("wait", "--timeout", "90s", ignores).code == 137
    info = sched_cli.info(dies)
    assert (info["state"], info["signal"], info["annotation"]) == ("failed", 15, "killed by drmaa2 kill (SIGTERM)")
    info = sched_cli.info(ignores)
    assert (info["state"], info["signal"]) == ("failed", 9)
    assert info["annotation"] == "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)"

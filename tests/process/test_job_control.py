"""Arrays, dependencies, hold/release, suspend/resume, logs, run, rm on the process backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drmaa2cli import config
from drmaa2cli.backends.process.backend import ProcessBackend
from drmaa2cli.deferred import wrapper
from drmaa2cli.mark import runner_alive
from drmaa2cli.models import ArraySpec, JobState, JobTemplate
from drmaa2cli.service import Service
from tests.conftest import Cli, gate, until


def overlap(jobs: list[dict[str, object]]) -> int:
    """The most tasks that ran at the same moment (from their dispatch and finish times)."""
    events = []
    for j in jobs:
        events += [(j["dispatch_time"], 1), (j["finish_time"], -1)]
    current = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        current += step
        peak = max(peak, current)
    return peak


def test_array_with_throttle_and_failed_tasks(cli: Cli) -> None:
    r = cli("submit", "--terse", "--array", "1-60%4", "--", "sh", "-c",
            "sleep 0.05; echo task $DRMAA2_TASK_ID of $DRMAA2_JOB_ID; exit $((DRMAA2_TASK_ID % 7 == 0))")
    array = r.out.strip()
    assert cli("wait", array).code == 1  # the highest exit code of its tasks
    doc = cli("status", "--json", array).json()
    tasks = doc["jobs"]
    assert [t["id"] for t in tasks] == [f"{array}.{i}" for i in range(1, 61)]
    assert doc["arrays"] == [{"id": array, "tasks": 60, "counts": {"done": 52, "failed": 8},
                              "failed_tasks": [7, 14, 21, 28, 35, 42, 49, 56], "exit_code": 1}]
    assert overlap(tasks) <= 4
    assert Path(tasks[9]["output_path"]).read_text() == f"task 10 of {array}\n"
    assert "failed tasks: 7, 14, 21" in cli("status", array).out


def test_array_step_and_output_placeholders(cli: Cli, tmp_path: Path) -> None:
    pattern = str(tmp_path / "out-%A-%a.txt")
    array = cli.submit("sh", "-c", "echo $DRMAA2_TASK_ID", options=["--array", "2-8:3", "--output", pattern])
    assert cli("wait", array).code == 0
    for index in (2, 5, 8):
        assert (tmp_path / f"out-{array}-{index}.txt").read_text() == f"{index}\n"
    assert cli("status", f"{array}.3").code == 202


def test_failed_dependency_fails_the_dependent(cli: Cli, tmp_path: Path) -> None:
    go = tmp_path / "go"
    first = cli.submit("sh", "-c", f"{gate(go)}; exit 3")
    waiting = cli.submit("echo", "must not run", options=["--after", first])
    go.touch()  # the dependency fails only now, while its dependent waits for it
    assert cli("wait", waiting).code == 207
    info = cli.info(waiting)
    assert info["state"] == "failed" and info["annotation"] == f"dependency {first} failed (exited with status 3)"
    assert Path(info["output_path"]).read_text() == ""
    # submitted after the failure: failed at once, not pending forever
    late = cli.submit("true", options=["--after", first])
    assert cli.info(late)["state"] == "failed"


def test_dependencies_ok_and_any(cli: Cli, tmp_path: Path) -> None:
    marker, go = tmp_path / "order", tmp_path / "go"
    a = cli.submit("sh", "-c", f"{gate(go)}; echo a >> {marker}")
    b = cli.submit("sh", "-c", f"echo b >> {marker}", options=["--after", a])
    bad = cli.submit("false")
    c = cli.submit("sh", "-c", f"echo c >> {marker}", options=["--after-any", f"{b},{bad}"])
    go.touch()  # a ends only once b and c wait for it
    assert cli("wait", c).code == 0
    assert marker.read_text() == "a\nb\nc\n"
    assert cli("submit", "--after", "999", "--", "true").code == 202


def test_hold_released_from_another_shell(cli: Cli, tmp_path: Path) -> None:
    job = cli.submit("echo", "released", options=["--hold"])
    info = cli.info(job)
    assert info["state"] == "queued_held"
    # The shepherd has the job once it created the output file: it holds it instead of starting it.
    until(Path(info["output_path"]).exists, f"job {job}'s shepherd creating its output file")
    assert cli.info(job)["state"] == "queued_held"
    # another shell, another process
    subprocess.run([sys.executable, "-m", "drmaa2cli", "release", job], env=cli.env, check=True)
    assert cli("wait", "--timeout", "10", job).code == 0
    assert cli("logs", job).out == "released\n"
    assert cli("release", job).code == 205


def test_hold_a_queued_array_task_and_kill_the_rest(cli: Cli, tmp_path: Path) -> None:
    go = tmp_path / "go"
    array = cli.submit("sh", "-c", gate(go), options=["--array", "1-4%1"])
    assert cli("hold", f"{array}.4").code == 0  # task 1 runs until go exists: 4 has not started
    go.touch()
    assert cli("wait", f"{array}.3").code == 0
    assert cli.info(f"{array}.4")["state"] == "queued_held"
    assert cli("kill", array).code == 0  # finished tasks are skipped
    assert cli("wait", array).code == 207
    assert "before it started" in cli.info(f"{array}.4")["annotation"]


def test_suspend_and_resume(cli: Cli, tmp_path: Path) -> None:
    go = tmp_path / "go"
    job = cli.submit("sh", "-c", gate(go))  # runs until the test creates go
    cli.until_state(job, "running")
    assert cli("suspend", job).code == 0
    assert cli.info(job)["state"] == "suspended"
    assert cli("resume", job).code == 0
    assert cli.info(job)["state"] == "running"
    go.touch()
    assert cli("wait", job).code == 0
    assert cli("suspend", job).code == 205


def test_a_suspended_job_whose_main_process_is_not_seen_stopped_is_suspended_and_can_be_resumed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGSTOP that catches dash's child between its vfork and its exec leaves the shell waiting in state D,
    never "stopped" (seen 10 times in 30 suspends of a `while sleep` loop on a loaded machine). /proc then says
    D for the job's main process, as here: the job is still suspended, and resume wakes it."""
    from drmaa2cli.backends.process import backend as process_backend

    go = tmp_path / "go"
    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(tmp_path / "home")}))
    job = svc.submit(JobTemplate(remote_command="sh", args=["-c", gate(go)]))
    until(lambda: svc.jobs([job.id])[0].state is JobState.RUNNING, f"job {job.id} ran")
    pid = int(svc.jobs([job.id])[0].native_id or 0)
    real = process_backend.proc_state
    monkeypatch.setattr(process_backend, "SIGNAL_PATIENCE", 0.1)
    monkeypatch.setattr(process_backend, "proc_state", lambda p: "D" if p == pid else real(p))
    svc.suspend([job.id])
    assert svc.jobs([job.id])[0].state is JobState.SUSPENDED
    assert real(pid) in ("T", "t")  # it really is stopped
    svc.resume([job.id])
    assert svc.jobs([job.id])[0].state is JobState.RUNNING
    until(lambda: real(pid) not in ("T", "t"), "the job woke")
    go.touch()
    assert [j.state for j in svc.wait([job.id], timeout=60)] == [JobState.DONE]


def test_logs_follow_and_run(cli: Cli, tmp_path: Path) -> None:
    job = cli.submit("sh", "-c", "echo one; sleep 0.5; echo two; echo bad >&2; exit 4")
    r = cli("logs", "--follow", job)
    assert r.code == 4 and r.out == "one\ntwo\n"
    assert cli("logs", "--stderr", job).out == "bad\n"
    r = cli("run", "--", "sh", "-c", "echo hi; echo oops >&2; exit 5")
    assert (r.code, r.out, r.err) == (5, "hi\n", "oops\n")
    r = cli("run", "--array", "1-3", "--", "sh", "-c", "echo $DRMAA2_TASK_ID")
    assert (r.code, r.out) == (0, "1\n2\n3\n")


def test_run_json_prints_the_json_alone(cli: Cli) -> None:
    """`run --json` once streamed the job's output before the JSON on stdout; now stdout is one JSON document,
    the exit code is still the job's, and the output is where `logs` reads it."""
    r = cli("run", "--json", "--", "sh", "-c", "echo hi; echo oops >&2; exit 5")
    assert r.code == 5
    doc = r.json()  # the whole of stdout parses
    (job,) = doc["jobs"]
    assert job["exit_code"] == 5 and "oops" not in r.err
    assert cli("logs", job["id"]).out == "hi\n" and cli("logs", "--stderr", job["id"]).out == "oops\n"
    r = cli("run", "--json", "--array", "1-3", "--", "sh", "-c", "echo $DRMAA2_TASK_ID")
    assert r.code == 0 and [j["state"] for j in r.json()["jobs"]] == ["done"] * 3


def test_output_file_exists_before_the_job_starts(cli: Cli) -> None:
    job = cli.submit("echo", "later", options=["--hold"])
    path = Path(cli.info(job)["output_path"])
    until(path.exists, f"the output file of held job {job}")
    assert path.read_text() == "" and cli.info(job)["state"] == "queued_held"
    assert cli("kill", job).code == 0


def test_rm(cli: Cli) -> None:
    done = cli.submit("true")
    active = cli.submit("sleep", "30")
    cli("wait", done)
    out = Path(cli.info(done)["output_path"])
    assert cli("rm", active).code == 205
    assert cli("rm", done).code == 0
    assert cli("status", done).code == 202 and not out.exists()
    assert cli("rm", "--force", active).code == 0
    assert cli("status", active).code == 202
    old = cli.submit("true")
    cli("wait", old)
    assert cli("rm", "--finished", "--older-than", "1h").code == 0
    assert cli("status", old).code == 0
    assert cli("rm", "--finished").code == 0
    assert cli("status", old).code == 202
    assert cli("rm").code == 201


@pytest.fixture
def no_native(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the process backend look like one without native job control, so the runner does it."""
    monkeypatch.setattr(ProcessBackend, "native_features", frozenset())


def test_runner_starts_arrays_holds_and_dependencies(no_native: None, home: Path) -> None:
    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(home)}))
    first = svc.submit(JobTemplate(remote_command="sleep", args=["0.3"]))
    tasks = svc.submit_jobs(
        JobTemplate(remote_command="sh", args=["-c", "exit $((DRMAA2_TASK_ID == 3))"]),
        array=ArraySpec(1, 6, 1, 2),
        after=[first.id],
    )
    assert all("deferred" in t.backend_data for t in tasks)
    done = svc.wait([str(tasks[0].number)], timeout=30)
    assert [j.state for j in done] == [JobState.DONE] * 2 + [JobState.FAILED] + [JobState.DONE] * 3
    assert all(j.dispatch_time and first.id and j.dispatch_time >= svc.jobs([first.id])[0].finish_time  # type: ignore[operator]
               for j in done)
    held = svc.submit(JobTemplate(remote_command="true", submit_as_hold=True))
    # The runner has the job once it runs; it then looks at the record every POLL_SECONDS. The hold must keep
    # it queued across several of its looks (the window only lets a wrong start show: it cannot fail a
    # correct runner, however slow the machine).
    until(lambda: runner_alive(svc.jobs([held.id])[0]), f"the runner of held job {held.id}")
    for _ in range(5):
        time.sleep(wrapper.POLL_SECONDS)
        assert svc.jobs([held.id])[0].state is JobState.QUEUED_HELD
    svc.release([held.id])
    assert svc.wait([held.id], timeout=30)[0].state is JobState.DONE
    failing = svc.submit(JobTemplate(remote_command="false"))
    blocked = svc.submit_jobs(JobTemplate(remote_command="true"), after=[failing.id])
    (result,) = svc.wait([blocked[0].id], timeout=30)
    assert result.state is JobState.FAILED and "dependency" in (result.annotation or "")


def test_runner_killed_before_start_resolves(no_native: None, home: Path) -> None:
    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(home)}))
    job = svc.submit(JobTemplate(remote_command="true", submit_as_hold=True))
    os.kill(job.backend_data["deferred"]["runner"], 9)
    (result,) = svc.wait([job.id], timeout=10)
    assert result.state is JobState.FAILED and "runner" in (result.annotation or "")


def states_of(cli: Cli, array: str) -> dict[str, str]:
    return {j["id"].partition(".")[2]: j["state"] for j in cli("status", "--json", array).json()["jobs"]}


def wait_for_state(cli: Cli, job: str, state: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while cli.info(job)["state"] != state:
        assert time.monotonic() < end, f"job {job} never became {state}"
        time.sleep(0.1)


def test_array_control_skips_tasks_it_does_not_apply_to(cli: Cli) -> None:
    """An array id holds/releases the tasks that can be, suspends/resumes the running/suspended ones and skips
    the rest (exit 0; once 205 as soon as one task had started); a task named alone still gets 205, and so does
    an array none of whose tasks the action applies to (as kill of an ended array always did)."""
    array = cli.submit("sleep", "30", options=["--array", "1-3%1"])
    wait_for_state(cli, f"{array}.1", "running")
    r = cli("hold", array)
    assert r.code == 0, r.err
    assert states_of(cli, array) == {"1": "running", "2": "queued_held", "3": "queued_held"}
    r = cli("hold", f"{array}.1")
    assert r.code == 205 and "has started" in r.err
    assert cli("suspend", array).code == 0
    assert states_of(cli, array) == {"1": "suspended", "2": "queued_held", "3": "queued_held"}
    assert cli("suspend", f"{array}.2").code == 205
    assert cli("resume", array).code == 0
    assert states_of(cli, array) == {"1": "running", "2": "queued_held", "3": "queued_held"}
    r = cli("resume", array)
    assert r.code == 205 and f"no task of array {array} can be resumed" in r.err, r.err
    assert cli("release", array).code == 0
    assert states_of(cli, array) == {"1": "running", "2": "queued", "3": "queued"}
    assert cli("release", array).code == 205  # nothing held
    assert cli("kill", array).code == 0
    jobs = cli("wait", "--json", "--timeout", "30", array).json()["jobs"]
    assert all(j["state"] == "failed" and j["annotation"].startswith("killed by drmaa2 kill") for j in jobs), jobs
    for action in ("kill", "hold", "release", "suspend", "resume"):
        assert cli(action, array).code == 205, action


def test_array_control_through_the_runner(no_native: None, home: Path) -> None:
    """The same in the core for backends whose arrays the runner starts (docker, cf, the schedulers with a
    throttle): started tasks go to the backend, tasks not started yet only change their record."""
    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(home)}))
    tasks = svc.submit_jobs(JobTemplate(remote_command="sleep", args=["30"]), array=ArraySpec(1, 3, 1, 1))
    array = str(tasks[0].number)
    deadline = time.monotonic() + 30
    while svc.jobs([tasks[0].id])[0].state is not JobState.RUNNING:
        assert time.monotonic() < deadline, "the first task never started"
        time.sleep(0.1)
    held = svc.hold([array])
    assert [j.state for j in held] == [JobState.RUNNING, JobState.QUEUED_HELD, JobState.QUEUED_HELD]
    svc.suspend([array])
    # SIGSTOP takes effect when the task is next scheduled: on a busy machine, a moment later.
    while svc.jobs([tasks[0].id])[0].state is not JobState.SUSPENDED:
        assert time.monotonic() < deadline + 30, "the first task was never suspended"
        time.sleep(0.1)
    svc.resume([array])
    released = svc.release([array])
    assert [j.state for j in released][1:] == [JobState.QUEUED, JobState.QUEUED]
    svc.kill([array])
    done = svc.wait([array], timeout=30)
    assert all(j.state is JobState.FAILED for j in done)

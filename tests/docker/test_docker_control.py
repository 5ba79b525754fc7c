"""Controlling running containers: signals, stop, pause, logs while running, OOM, waiting."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from drmaa2cli.errors import InvalidState
from drmaa2cli.models import JobState
from tests.docker.fixtures import Jobs


def running(job_state: JobState) -> bool:
    return job_state is JobState.RUNNING


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_kill_with_a_signal_records_the_signal(jobs: Jobs, sig: int) -> None:
    job = jobs.until(jobs.run("sleep", "300"), lambda j: running(j.state))
    jobs.backend().terminate(job, sig)
    job = jobs.finish(job)
    assert job.state is JobState.FAILED
    assert job.signal == sig and job.exit_status is None
    assert job.exit_code() == 128 + sig
    assert job.annotation == f"killed by drmaa2 kill ({signal.Signals(sig).name})"


def test_terminate_without_a_signal_stops_gracefully(jobs: Jobs) -> None:
    script = "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done"
    job = jobs.run("sh", "-c", script)
    job = jobs.until(job, lambda j: jobs.backend().output(j, "out") == b"ready\n")
    jobs.backend().terminate(job, None)
    job = jobs.finish(job)
    # The job handled SIGTERM and chose its exit status: that is what it reports, not a signal.
    assert job.exit_status == 7 and job.signal is None
    assert Path(str(job.output_path)).read_text() == "ready\ngot TERM\n"


def test_an_exit_status_above_128_is_read_as_a_shell_reads_it(jobs: Jobs) -> None:
    # The engine reports only 128+N for a process killed by signal N (the contract's "exit-status" case says
    # so for docker): read as a signal, as on the backends that know, so the job reads alike everywhere.
    job = jobs.finish(jobs.run("sh", "-c", "kill -TERM $$"))
    assert (job.exit_status, job.signal, job.annotation) == (None, 15, "killed by signal 15 (SIGTERM)")
    job = jobs.finish(jobs.run("sh", "-c", "exit 3"))
    assert (job.exit_status, job.signal, job.annotation) == (3, None, "exited with status 3")


def test_suspend_resume_and_output_while_running(jobs: Jobs) -> None:
    job = jobs.run("sh", "-c", "echo started; echo oops >&2; sleep 300")
    job = jobs.until(job, lambda j: jobs.backend().output(j, "err") == b"oops\n")
    assert jobs.backend().output(job, "out") == b"started\n"
    jobs.backend().suspend(job)
    job = jobs.refresh(job)
    assert job.state is JobState.SUSPENDED
    with pytest.raises(InvalidState):
        jobs.backend().suspend(job)
    jobs.backend().resume(job)
    assert jobs.refresh(job).state is JobState.RUNNING
    jobs.backend().terminate(job, signal.SIGKILL)
    job = jobs.finish(job)
    assert job.signal == signal.SIGKILL
    assert jobs.backend().output(job, "out") is None  # the files hold it now
    assert Path(str(job.output_path)).read_text() == "started\n"
    with pytest.raises(InvalidState):
        jobs.backend().terminate(job, None)


def test_kill_a_suspended_job(jobs: Jobs) -> None:
    job = jobs.until(jobs.run("sleep", "300"), lambda j: running(j.state))
    jobs.backend().suspend(job)
    jobs.backend().terminate(job, signal.SIGKILL)
    assert jobs.finish(job).signal == signal.SIGKILL


def test_out_of_memory(jobs: Jobs) -> None:
    grow = "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"
    job = jobs.finish(jobs.run("sh", "-c", grow, resource_limits={"memory_mb": 8}))
    assert job.state is JobState.FAILED
    # Podman never marks a container OOMKilled: the kernel's SIGKILL is all it reports.
    oom = "OOM killed (memory limit 8 MiB)" if jobs.engine_name == "docker" else "killed by signal 9 (SIGKILL)"
    assert job.annotation == oom
    assert job.signal == signal.SIGKILL and job.exit_code() == 137


def test_cpu_limit_is_accepted(jobs: Jobs) -> None:
    job = jobs.finish(jobs.run("true", resource_limits={"cpus": 0.5}))
    assert job.state is JobState.DONE


def test_wait_any_returns_at_its_timeout_and_when_a_job_ends(jobs: Jobs) -> None:
    sleeper = jobs.until(jobs.run("sleep", "300"), lambda j: running(j.state))
    quick = jobs.run("sh", "-c", "sleep 1")
    backend = jobs.backend()
    backend.wait_any([sleeper], 0.3)
    assert jobs.refresh(sleeper).state is JobState.RUNNING
    for _ in range(20):
        backend.wait_any([sleeper, quick], 60)
        quick = jobs.refresh(quick)
        if quick.state.final:
            break
    assert quick.state is JobState.DONE
    assert jobs.refresh(sleeper).state is JobState.RUNNING
    backend.terminate(sleeper, signal.SIGKILL)


def test_wait_any_without_timeout_is_woken_by_the_engine(jobs: Jobs) -> None:
    # Right after the kill the engine's container list may still say "running": the wait must still wake
    # (this hung until its timeout when only events from "now" on were watched).
    job = jobs.until(jobs.run("sleep", "300"), lambda j: running(j.state))
    jobs.backend().terminate(job, signal.SIGTERM)
    waiter = threading.Thread(target=jobs.backend().wait_any, args=([job], None), daemon=True)
    waiter.start()
    waiter.join(60)  # a guard against hanging the suite, not a speed check: it returns within ~0.1 s
    assert not waiter.is_alive(), "wait_any was not woken by the container's end"
    assert jobs.finish(job).signal == signal.SIGTERM


def test_timeout_stops_the_job_after_the_submitter_is_gone(jobs: Jobs) -> None:
    job = jobs.run("sleep", "300", timeout=1.0)
    job = jobs.finish(job)  # nothing but the job's watchdog is left to stop it
    assert job.state is JobState.FAILED
    assert job.annotation == "timed out after 1s"
    assert job.signal == signal.SIGTERM and job.exit_code() == 143


def test_a_job_that_ends_before_its_timeout(jobs: Jobs) -> None:
    job = jobs.finish(jobs.run("sh", "-c", "exit 2", timeout=300.0))
    assert job.exit_status == 2 and job.annotation == "exited with status 2"
    assert not (jobs.home / "run" / f"{job.id}.docker-kill").exists()


def test_refresh_enforces_a_timeout_its_watchdog_did_not(jobs: Jobs) -> None:
    # The job's record says it should have been stopped long ago, and no watchdog was started for it
    # (as after a reboot): the next refresh kills it.
    job = jobs.until(jobs.run("sleep", "300"), lambda j: running(j.state))
    overdue = job.evolve(template=replace(job.template, timeout=0.5), dispatch_time=job.dispatch_time - 100)
    job = jobs.finish(jobs.refresh(overdue))
    assert job.annotation == "timed out after 0.5s"
    assert job.signal == signal.SIGKILL

"""slurm_cmd on output saved from a real slurmctld (tests/fixtures/slurm, captured by its capture.sh)."""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from drmaa2cli.backends.sched import common
from drmaa2cli.backends.sched import slurm_cmd as cmd
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import ArraySpec, JobInfo, JobState, JobTemplate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


JOBS = dict(line.split("=", 1) for line in fixture("jobs.txt").split())


def changes(records: dict[str, cmd.Record], label: str) -> dict[str, object]:
    return cmd.job_changes(records[JOBS[label]])


PATHS = common.Paths(working_dir="/w", output="/o/1.out", error="/o/1.err")


def test_submit_command_maps_template() -> None:
    t = JobTemplate(
        remote_command="x", job_name="name", submit_as_hold=True, timeout=90.5, queue_name="debug",
        resource_limits={"memory_mb": 512, "cpus": 1.5, "disk_mb": 10},
        extension={"native": ["--exclusive", "--comment=a b"]},
    )
    argv = cmd.build_submit_command(t, PATHS, job_name="name")
    assert argv == [
        "sbatch", "--parsable", "--job-name=name", "--chdir=/w", "--output=/o/1.out", "--error=/o/1.err",
        "--hold", "--time=2:06", "--partition=debug", "--mem=512M", "--tmp=10M", "--cpus-per-task=2",
        "--exclusive", "--comment=a b",
    ]


def test_submit_command_join_input_array_after() -> None:
    paths = common.Paths("/w", f"/o/%x-7.{common.TASK_MARK}.out", None, "/in")
    argv = cmd.build_submit_command(
        JobTemplate(remote_command="x"), paths, job_name="n",
        array=ArraySpec(1, 10, 3, 2), after=common.After(["12", "13_2"], "ok"),
    )
    assert "--output=/o/%%x-7.%a.out" in argv
    assert not any(a.startswith("--error") for a in argv)
    assert "--input=/in" in argv
    assert "--array=1-10:3%2" in argv
    assert "--dependency=afterok:12:13_2" in argv
    assert "--kill-on-invalid-dep=yes" in argv
    any_argv = cmd.build_submit_command(
        JobTemplate(remote_command="x"), PATHS, job_name="n", after=common.After(["5"], "any")
    )
    assert "--dependency=afterany:5" in any_argv


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"array": ArraySpec(5, 1)}, "bad array range"),
        ({"array": ArraySpec(1, 5, 1, 0)}, "parallel limit"),
        ({"after": common.After(["1"], "maybe")}, "dependency mode"),
    ],
)
def test_submit_command_refuses(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        cmd.build_submit_command(JobTemplate(remote_command="x"), PATHS, job_name="n", **kwargs)  # type: ignore[arg-type]


def test_backslash_path_cannot_name_tasks() -> None:
    assert cmd.slurm_path("/a\\b%") == "/a\\b%"
    with pytest.raises(InvalidArgument):
        cmd.slurm_path(f"/a\\b{common.TASK_MARK}")


def test_parse_submit_output() -> None:
    assert cmd.parse_submit_output(fixture("sbatch_parsable.txt")) == fixture("sbatch_parsable.txt").strip()
    assert cmd.parse_submit_output(fixture("sbatch_parsable_array.txt")).isdigit()
    assert cmd.parse_submit_output("77;cluster2\n") == "77"
    with pytest.raises(InvalidArgument):
        cmd.parse_submit_output(fixture("sbatch_bad_partition.txt"))


def test_status_command_asks_once_for_array_jobs() -> None:
    argv = cmd.build_status_command(["12_3", "12_4", "9"])
    assert argv[:3] == ["squeue", "--noheader", "--states=all"]
    assert "--jobs=9,12" in argv


def test_active_states() -> None:
    recs = cmd.parse_squeue(fixture("squeue_active.txt"))
    assert changes(recs, "held")["state"] is JobState.QUEUED_HELD
    assert changes(recs, "pending")["state"] is JobState.QUEUED
    assert changes(recs, "dep_ok")["annotation"] == "pending: Dependency"
    assert changes(recs, "held")["annotation"] == "JobHeldUser"
    # A state without a reason says so: the reason of an earlier state is not kept.
    running = replace(recs[JOBS["held"]], state="RUNNING", reason="")
    assert cmd.job_changes(running)["annotation"] is None
    # The array's unstarted tasks are expanded one record each.
    array = JOBS["array"]
    assert {f"{array}_{i}" for i in range(1, 11)} <= set(recs)
    assert recs[f"{array}_7"].state == "PENDING"


def test_suspended_and_cancelled_before_start() -> None:
    recs = cmd.parse_squeue(fixture("squeue_suspended.txt"))
    assert changes(recs, "running")["state"] is JobState.SUSPENDED
    c = changes(recs, "pending")
    assert c["state"] is JobState.FAILED
    assert c["exit_status"] is None and c["signal"] is None
    assert c["annotation"] == "cancelled before it started"
    assert c.get("dispatch_time") is None  # Slurm stamps the cancel time as its start
    assert changes(recs, "done")["state"] is JobState.DONE


def test_final_states_exit_codes_and_signals() -> None:
    recs = cmd.parse_squeue(fixture("squeue_final.txt"))
    c = changes(recs, "exit3")
    assert (c["state"], c["exit_status"], c["signal"]) == (JobState.FAILED, 3, None)
    assert c["annotation"] == "exited with status 3"
    c = changes(recs, "sigkill")
    assert (c["state"], c["exit_status"], c["signal"]) == (JobState.FAILED, None, 9)
    assert c["annotation"] == "killed by signal 9 (SIGKILL)"
    c = changes(recs, "done")
    assert (c["state"], c["exit_status"], c["machine"]) == (JobState.DONE, 0, "vm")
    assert c["dispatch_time"] is not None and c["finish_time"] is not None
    c = changes(recs, "busy")  # cancelled while another job ran: never started
    assert c["annotation"] == "cancelled before it started" and c.get("dispatch_time") is None
    c = changes(recs, "running")  # cancelled while running
    assert c["state"] is JobState.FAILED and c["signal"] in (9, 15)
    c = changes(recs, "timeout")
    assert c["state"] is JobState.FAILED and str(c["annotation"]).startswith("time limit reached")
    c = changes(recs, "dep_killed")
    assert c["state"] is JobState.FAILED and c["annotation"] == "cancelled: a dependency failed"
    assert c.get("dispatch_time") is None
    assert recs[JOBS["dep_never"]].reason == cmd.NEVER_REASON


def test_throttled_array_tasks_end_with_their_own_status() -> None:
    recs = cmd.parse_squeue(fixture("squeue_final.txt"))
    array = JOBS["array"]
    for index in range(1, 11):
        c = cmd.job_changes(recs[f"{array}_{index}"])
        expected = index % 3
        assert c["exit_status"] == expected
        assert c["state"] is (JobState.DONE if expected == 0 else JobState.FAILED)


def test_jobcomp_fallback() -> None:
    recs = cmd.parse_sacct(fixture("sacct_jobcomp.txt"))
    c = cmd.job_changes(recs[JOBS["exit3"]])
    assert (c["state"], c["exit_status"]) == (JobState.FAILED, 3)
    c = cmd.job_changes(recs[JOBS["sigkill"]])
    assert c["signal"] == 9
    c = cmd.job_changes(recs[JOBS["running"]])  # the completion log loses scancel's signal ("0:0")
    assert c["state"] is JobState.FAILED and c["exit_status"] is None
    c = cmd.job_changes(recs[JOBS["held"]])
    assert c["annotation"] == "cancelled before it started"


def test_sacct_steps_and_units() -> None:
    text = "7|7|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:02|n1|00:01.500|\n" \
           "7.batch|7.batch|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:02|n1|00:01.500|2048K\n" \
           "7.0|7.0|COMPLETED|0:0|2026-01-01T00:00:00|2026-01-01T00:00:02|n1|00:00.100|1.5M\n"
    rec = cmd.parse_sacct(text)["7"]
    assert rec.cpu_time == 1.5
    assert rec.max_rss == 2048  # the largest step
    assert cmd.parse_duration("1-02:03:04") == 93784
    assert cmd.parse_memory_kib("2G") == 2 * 1024 * 1024


def test_wait_status_decoding() -> None:
    assert common.decode_wait_status(768) == (3, None)
    assert common.decode_wait_status(9) == (None, 9)
    assert common.decode_wait_status(137) == (None, 9)  # core dumped flag
    assert common.decode_wait_status(4021) == (None, None)  # Slurm's launch failure code, no wait status


def test_unknown_job_message() -> None:
    assert "invalid job id" in fixture("squeue_unknown.txt").lower()
    assert cmd.parse_squeue(fixture("squeue_unknown.txt")) == {}


def test_cancel_and_control_commands() -> None:
    assert cmd.build_cancel_command("5_3", None) == ["scancel", "5_3"]
    assert cmd.build_cancel_command("5", 9) == ["scancel", "--batch", "--signal=9", "5"]
    assert cmd.build_cancel_command("5", 10) == ["scancel", "--full", "--signal=10", "5"]
    assert cmd.build_control_command("hold", "5") == ["scontrol", "hold", "5"]


NASTY = ["a b", "it's", 'say "hi"', "$HOME", "`id`", "back\\slash", "new\nline", "", "*", "ünï", "-n"]


def test_job_script_passes_arguments_byte_for_byte(tmp_path: Path) -> None:
    spec = common.JobSpec("7", "s1", ["printf", "%s\\0", *NASTY], {"K": "v w'x", "_Z1": "$y"})
    script = tmp_path / "job.sh"
    script.write_bytes(common.job_script(spec))
    out = subprocess.run(["sh", str(script)], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [a.encode() for a in NASTY]
    text = script.read_text()
    assert "export DRMAA2_JOB_ID=7" in text and "export DRMAA2_SESSION=s1" in text


def test_job_script_array_task_ids(tmp_path: Path) -> None:
    spec = common.JobSpec("7", "s", ["sh", "-c", 'echo "$DRMAA2_JOB_ID $DRMAA2_TASK_ID"'], {},
                          "SLURM_ARRAY_TASK_ID")
    script = tmp_path / "job.sh"
    script.write_bytes(common.job_script(spec))
    out = subprocess.run(["sh", str(script)], capture_output=True, check=True,
                         env={"SLURM_ARRAY_TASK_ID": "4", "PATH": "/usr/bin:/bin"}).stdout
    assert out == b"7 4\n"


def test_job_script_refuses_bad_env_names() -> None:
    with pytest.raises(InvalidArgument):
        common.job_script(common.JobSpec("1", "s", ["true"], {"A-B": "1"}))


def test_polling_backs_off_politely() -> None:
    delays = list(itertools.islice(common.backoff(), 30))
    assert delays[0] == 0.05 and delays[-1] == 1.0
    assert all(a <= b for a, b in itertools.pairwise(delays))
    calls = []
    common.poll_until(lambda: calls.append(1) or len(calls) == 3, None)
    assert len(calls) == 3
    common.poll_until(lambda: calls.append(1) or False, 0)
    assert len(calls) == 3  # no time left: the scheduler is not asked again


def test_ended_jobs_are_not_asked_about_twice() -> None:
    cache = common.EndedCache()
    running = JobInfo(id="1", session="s", backend="slurm", state=JobState.RUNNING, native_id="7",
                      backend_data={"kept": True})
    ended = running.evolve(state=JobState.FAILED, exit_status=3, annotation="exited with status 3")
    cache.remember([ended, running.evolve(id="2")])
    known, rest = cache.split([running, running.evolve(id="2"), running.evolve(native_id="8")])
    assert [(j.id, j.state, j.exit_status, j.backend_data) for j in known] == [
        ("1", JobState.FAILED, 3, {"kept": True})
    ]
    assert [(j.id, j.native_id) for j in rest] == [("2", "7"), ("1", "8")]


def test_sacct_of_array_tasks_with_and_without_a_sampled_max_rss() -> None:
    # Saved from the test cluster (jobacct_gather/linux, sampling each second): task 3808_1 ended before its first
    # sample, so its batch step has no MaxRSS; a job line not yet followed by a step is not final accounting.
    text = (
        "3808_1|3809|COMPLETED|0:0|2026-11-29T20:04:42|2026-11-29T20:04:42|vm|00:00.299|\n"
        "3808_1.batch|3809.batch|COMPLETED|0:0|2026-11-29T20:04:42|2026-11-29T20:04:42|vm|00:00.299|\n"
        "3811_1|3812|COMPLETED|0:0|2026-11-29T20:04:54|2026-11-29T20:04:57|vm|00:00.883|\n"
        "3811_1.batch|3812.batch|COMPLETED|0:0|2026-11-29T20:04:54|2026-11-29T20:04:57|vm|00:00.883|108496K\n"
        "3811_2|3811|COMPLETED|0:0|2026-11-29T20:04:54|2026-11-29T20:04:57|vm|00:00.864|\n"
    )
    recs = cmd.parse_sacct(text)
    assert (recs["3811_1"].cpu_time, recs["3811_1"].max_rss, recs["3811_1"].stepped) == (0.883, 108496, True)
    assert (recs["3808_1"].cpu_time, recs["3808_1"].max_rss, recs["3808_1"].stepped) == (0.299, None, True)
    assert (recs["3811_2"].cpu_time, recs["3811_2"].stepped) == (0.864, False)
    assert recs["3811_1"].job_id == "3812"

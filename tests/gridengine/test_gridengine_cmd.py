"""gridengine_cmd on output saved from a real sge_qmaster (tests/fixtures/gridengine, captured by its
capture.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drmaa2cli.backends.sched import common
from drmaa2cli.backends.sched import gridengine_cmd as cmd
from drmaa2cli.backends.sched import monitor_cmd as monitor
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import ArraySpec, JobState, JobTemplate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gridengine"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


JOBS = dict(line.split("=", 1) for line in fixture("jobs.txt").split())
PATHS = common.Paths(working_dir="/w", output="/o/1.out", error="/o/1.err")


def accounted(label: str, native: str | None = None) -> dict[str, object]:
    records = cmd.parse_qacct(fixture(f"qacct_{label}.txt"))
    return cmd.job_changes(records[native or JOBS[label]])


def test_submit_command_maps_template() -> None:
    t = JobTemplate(
        remote_command="x", submit_as_hold=True, timeout=90.5, queue_name="all.q",
        resource_limits={"memory_mb": 1000, "cpus": 2},
        extension={"native": ["-P", "proj"]},
    )
    argv = cmd.build_submit_command(t, PATHS, job_name="n", parallel_environment="mpi")
    assert argv == [
        "qsub", "-terse", "-S", "/bin/sh", "-N", "n", "-wd", "/w", "-o", "/o/1.out", "-e", "/o/1.err",
        "-h", "-q", "all.q", "-pe", "mpi", "2", "-l", "h_rt=126,h_vmem=500M", "-P", "proj",
    ]


def test_submit_command_join_input_array_after() -> None:
    paths = common.Paths("/w", f"/o/a:b.{common.TASK_MARK}.out", None, "/in")
    argv = cmd.build_submit_command(JobTemplate(remote_command="x"), paths, job_name="n",
                                    array=ArraySpec(1, 10, 3, 2), after=common.After(["7.2", "8"], "any"))
    assert argv[argv.index("-o") + 1] == ":/o/a:b.$TASK_ID.out"
    assert argv[argv.index("-j") + 1] == "y"
    assert argv[argv.index("-i") + 1] == "/in"
    assert argv[argv.index("-t") + 1] == "1-10:3"
    assert argv[argv.index("-tc") + 1] == "2"
    assert argv[argv.index("-hold_jid") + 1] == "7,8"


@pytest.mark.parametrize(
    ("template", "kwargs", "message"),
    [
        (JobTemplate(remote_command="x", resource_limits={"disk_mb": 5}), {}, "disk"),
        (JobTemplate(remote_command="x"), {"after": common.After(["1"], "ok")}, "success only"),
        (JobTemplate(remote_command="x", output_path="/a,b"), {}, "comma"),
        (JobTemplate(remote_command="x", output_path="$HOME/x"), {}, "expand"),
    ],
)
def test_submit_command_refuses(template: JobTemplate, kwargs: dict[str, object], message: str) -> None:
    paths = common.Paths("/w", template.output_path or "/o", None)
    with pytest.raises(InvalidArgument, match=message):
        cmd.build_submit_command(template, paths, job_name="n", **kwargs)  # type: ignore[arg-type]


def test_job_names_are_made_acceptable() -> None:
    assert cmd.job_name("1abc") == "j1abc"
    assert cmd.job_name("a/b c:d") == "a_b_c_d"


def test_parse_submit_output() -> None:
    assert cmd.parse_submit_output(fixture("qsub_terse.txt")) == fixture("qsub_terse.txt").strip()
    array = fixture("qsub_terse_array.txt")
    assert cmd.parse_submit_output(array) == array.split(".")[0]
    with pytest.raises(InvalidArgument):
        cmd.parse_submit_output(fixture("qsub_bad_queue.txt"))


def test_active_states() -> None:
    recs = cmd.parse_qstat_xml(fixture("qstat_active.xml"))
    assert cmd.job_changes(recs[JOBS["running"]])["state"] is JobState.RUNNING
    assert cmd.job_changes(recs[JOBS["running"]])["machine"] == "vm"
    assert cmd.job_changes(recs[JOBS["held"]])["state"] is JobState.QUEUED_HELD
    assert cmd.job_changes(recs[JOBS["done"]])["state"] is JobState.QUEUED
    array = JOBS["array"]
    assert {f"{array}.{i}" for i in range(1, 11)} <= set(recs)


def test_suspended_and_error_states() -> None:
    recs = cmd.parse_qstat_xml(fixture("qstat_suspended.xml"))
    assert cmd.job_changes(recs[JOBS["running"]])["state"] is JobState.SUSPENDED
    recs = cmd.parse_qstat_xml(fixture("qstat_error.xml"))
    assert cmd.is_error(recs[JOBS["baddir"]])
    reasons = cmd.parse_error_reasons(fixture("qstat_j_error.txt"))
    assert reasons[JOBS["baddir"]] == "can't chdir to /nonexistent: No such file or directory"


def test_final_states_exit_codes_and_signals() -> None:
    c = accounted("done")
    assert (c["state"], c["exit_status"], c["machine"]) == (JobState.DONE, 0, "vm")
    assert c["dispatch_time"] is not None and c["finish_time"] is not None and c["cpu_time"] is not None
    c = accounted("exit3")
    assert (c["state"], c["exit_status"], c["annotation"]) == (JobState.FAILED, 3, "exited with status 3")
    c = accounted("exit137")  # a job that itself exits 137 is no signal death
    assert (c["exit_status"], c.get("signal")) == (137, None)
    c = accounted("sigkill")
    assert (c["state"], c["exit_status"], c["signal"]) == (JobState.FAILED, None, 9)
    c = accounted("killed")  # qdel
    assert (c["state"], c["signal"]) == (JobState.FAILED, 9)
    assert c["annotation"] == "killed by signal 9 (SIGKILL)"
    c = accounted("timeout")
    assert c["signal"] == 9 and "h_rt" in str(c["annotation"])
    c = accounted("baddir")
    assert c["state"] is JobState.FAILED and c["exit_status"] is None
    assert c["annotation"] == "could not start: changing into working directory"
    assert c.get("dispatch_time") is None


def test_max_rss_in_kib() -> None:
    c = accounted("rss")  # allocated 50 MiB
    assert 50 * 1024 < int(c["max_rss"]) < 80 * 1024  # type: ignore[call-overload]


def test_throttled_array_tasks_end_with_their_own_status() -> None:
    array = JOBS["array"]
    records = cmd.parse_qacct(fixture("qacct_array.txt"))
    assert len(records) == 10
    for index in range(1, 11):
        c = cmd.job_changes(records[f"{array}.{index}"])
        assert c["exit_status"] == index % 3
        assert c["state"] is (JobState.DONE if index % 3 == 0 else JobState.FAILED)


def test_unknown_jobs() -> None:
    assert cmd.parse_qacct(fixture("qacct_unknown.txt")) == {}
    assert cmd.parse_qacct(fixture("qacct_held.txt")) == {}  # deleted while pending: no record
    assert cmd.parse_qstat_xml(fixture("qstat_final.xml")) == {}
    assert "deleted" in fixture("qdel_pending.txt") and "registered" in fixture("qdel_running.txt")


def test_control_commands() -> None:
    assert cmd.build_control_command("suspend", "5.3") == ["qmod", "-sj", "5.3"]
    assert cmd.build_control_command("release", "5") == ["qrls", "5"]
    assert cmd.build_delete_command(["5", "6.1"]) == ["qdel", "5", "6.1"]


def test_queue_instances_give_each_queue_its_hosts() -> None:
    # qselect resolves a hostlist's host groups (@allhosts) itself: one line per queue instance.
    text = "all.q@node1\nall.q@node2\nlong.q@node2\n\nall.q@node1\n"
    assert monitor.parse_queue_instances(text) == {"all.q": ["node1", "node2"], "long.q": ["node2"]}
    assert monitor.parse_queue_instances("") == {}

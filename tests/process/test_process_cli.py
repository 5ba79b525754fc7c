"""The process backend end to end, through the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli, until

PY = sys.executable


def test_exit_status_reaches_a_second_shell(cli: Cli) -> None:
    job = cli.submit("sh", "-c", "sleep 0.5; exit 3")
    r = cli("wait", job)  # a separate process from the submitter, which has exited
    assert r.code == 3, r.err
    info = cli.info(job)
    assert info["state"] == "failed"
    assert info["exit_status"] == 3 and info["exit_code"] == 3 and info["signal"] is None
    assert info["annotation"] == "exited with status 3"
    assert info["cpu_time"] is not None and info["max_rss"] > 0
    assert info["wallclock_time"] >= 0.4
    assert info["submission_time"] <= info["dispatch_time"] <= info["finish_time"]


def test_done_job_and_json_contract(cli: Cli) -> None:
    r = cli("submit", "--json", "--name", "hello", "--", "true")
    assert r.code == 0
    doc = r.json()
    assert doc["schema_version"] == 1
    job = doc["job"]["id"]
    assert cli("wait", job).code == 0
    info = cli.info(job)
    assert info["state"] == "done" and info["exit_status"] == 0 and info["name"] == "hello"
    assert info["command"] == ["true"] and info["backend"] == "process" and info["session"] == "default"


def test_arguments_reach_the_job_byte_for_byte(cli: Cli, tmp_path: Path) -> None:
    args = ["a b", "'q'", '"dq"', "$(touch /tmp/pwned)", "*", "new\nline", "ünïcødé ✓", "", "-l", "x" * 5000]
    out = tmp_path / "argv.json"
    code = "import sys, json; json.dump(sys.argv[1:], open(sys.argv[0] + '.json', 'w'))"
    script = tmp_path / "argv"
    script.write_text(code)
    job = cli.submit(PY, str(script), *args)
    assert cli("wait", job).code == 0
    assert json.loads(out.read_text()) == args


def test_options_after_the_command_belong_to_the_job(cli: Cli) -> None:
    r = cli("submit", "--wait", "sh", "-c", "exit 4")
    assert r.code == 4, r.err


def test_environment_cwd_and_files(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from stdin\n")
    out, err = tmp_path / "o.txt", tmp_path / "e.txt"
    job = cli.submit(
        "sh", "-c", 'echo "$GREETING $DRMAA2_JOB_ID $(pwd)"; cat; echo oops >&2',
        options=["--env", "GREETING=hi there", "--cwd", str(tmp_path), "--input", str(tmp_path / "in.txt"),
                 "--output", str(out), "--error", str(err)],
    )
    assert cli("wait", job).code == 0
    assert out.read_text() == f"hi there {job} {tmp_path}\nfrom stdin\n"
    assert err.read_text() == "oops\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_default_output_files_and_join(cli: Cli) -> None:
    job = cli.submit("sh", "-c", "echo out; echo err >&2", options=["--join"])
    cli("wait", job)
    info = cli.info(job)
    assert info["output_path"] == info["error_path"]
    assert Path(info["output_path"]).read_text() == "out\nerr\n"
    assert Path(info["output_path"]).parent == cli.home / "output"


def test_kill_records_the_signal(cli: Cli) -> None:
    job = cli.submit("sleep", "30")
    assert cli("kill", job).code == 0
    assert cli("wait", job).code == 128 + signal.SIGTERM
    info = cli.info(job)
    assert info["state"] == "failed" and info["signal"] == signal.SIGTERM
    assert info["annotation"] in ("killed by drmaa2 kill (SIGTERM)", "killed by drmaa2 kill before it started")
    job2 = cli.submit("sleep", "30")
    assert cli("kill", "--signal", "KILL", job2).code == 0
    assert cli("wait", job2).code == 137
    assert cli.info(job2)["annotation"] in ("killed by drmaa2 kill (SIGKILL)",
                                            "killed by drmaa2 kill before it started")
    assert cli("kill", job2).code == 205  # already ended


def wait_for_output(cli: Cli, job: str, text: str) -> None:
    path = Path(cli.info(job)["output_path"])
    until(lambda: text in path.read_text(), f"job {job} printing {text!r}")


def test_kill_and_timeout_name_the_signal_that_ended_the_job(cli: Cli) -> None:
    """A job that ignores SIGTERM ends by the SIGKILL sent after the grace period: its signal, exit code and
    annotation say SIGKILL (they once said SIGTERM beside signal 9). Both cases share the one grace period."""
    ignores = "trap '' TERM; echo ready; sleep 30"
    killed = cli.submit("sh", "-c", ignores)
    timed_out = cli.submit("sh", "-c", ignores, options=["--timeout", "1s"])
    dies = cli.submit("sh", "-c", "echo ready; sleep 30", options=["--timeout", "1s"])
    wait_for_output(cli, killed, "ready")
    assert cli("kill", killed).code == 0
    assert cli("wait", "--timeout", "30", killed).code == 137
    info = cli.info(killed)
    assert (info["state"], info["signal"], info["exit_code"]) == ("failed", 9, 137)
    assert info["annotation"] == "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)"
    assert cli("wait", "--timeout", "30", timed_out).code == 137
    info = cli.info(timed_out)
    assert (info["signal"], info["exit_code"]) == (9, 137)
    assert info["annotation"] == "timed out after 1s (SIGKILL after SIGTERM was ignored for 5s)"
    assert cli("wait", "--timeout", "30", dies).code == 143
    info = cli.info(dies)
    assert (info["signal"], info["exit_code"], info["annotation"]) == (15, 143, "timed out after 1s")


def test_control_right_after_submit_takes_effect(cli: Cli) -> None:
    """kill, hold and release the moment submit returns: never a lost job, a lost kill or a request file left."""
    killed = []
    for _ in range(16):
        job = cli.submit("sleep", "30")
        assert cli("kill", job).code == 0
        killed.append(job)
    r = cli("wait", "--timeout", "60", "--json", *killed)
    for info in r.json()["jobs"]:
        assert info["state"] == "failed", info
        if info["dispatch_time"] is None:
            assert info["annotation"] == "killed by drmaa2 kill before it started" and info["exit_code"] is None
        else:
            assert (info["annotation"], info["signal"], info["exit_code"]) == (
                "killed by drmaa2 kill (SIGTERM)", 15, 143)
    assert r.code in (143, 207)
    held = []
    for _ in range(4):
        job = cli.submit("echo", "ran", options=["--hold"])
        assert cli("release", job).code == 0
        held.append(job)
        job = cli.submit("echo", "ran")
        r = cli("hold", job)
        if r.code == 0:
            assert cli.info(job)["state"] == "queued_held"
            assert cli("release", job).code == 0
        else:
            # The start came first (a CLI takes longer to start than a shepherd): refused, the job runs on.
            assert r.code == 205 and ("has started" in r.err or "has already ended" in r.err), r.err
        held.append(job)
    assert cli("wait", "--timeout", "60", *held).code == 0
    assert all(cli("logs", job).out == "ran\n" for job in held)
    assert sorted(p.name for p in (cli.home / "run").iterdir() if ".ctl." in p.name or ".ack." in p.name) == []


def test_command_not_found_fails_with_reason(cli: Cli) -> None:
    r = cli("submit", "--wait", "--", "no-such-command-xyz")
    assert r.code == 127
    assert "command not found: no-such-command-xyz" in r.err


def test_wait_timeout_any_and_several(cli: Cli) -> None:
    slow = cli.submit("sleep", "30")
    fast = cli.submit("sh", "-c", "exit 2")
    ok = cli.submit("true")
    assert cli("wait", "--timeout", "0.3", slow).code == 124
    r = cli("wait", "--any", slow, fast)
    assert r.code == 2 and r.out.strip() == fast
    assert cli("wait", fast, ok).code == 2  # the highest code of several
    assert cli("wait", ok).code == 0
    cli("kill", "--signal", "KILL", slow)


def test_status_table_filters_and_detail(cli: Cli) -> None:
    a = cli.submit("true", options=["--name", "alpha"])
    b = cli.submit("sh", "-c", "exit 1", options=["--name", "beta", "--session", "other"])
    cli("wait", a, b)
    table = cli("status").out
    assert "alpha" in table and "beta" not in table
    everything = cli("status", "--all").out
    assert "alpha" in everything and "beta" in everything and "other" in everything
    failed = cli("status", "--all", "--state", "failed", "--json").json()["jobs"]
    assert [j["id"] for j in failed] == [b]
    named = cli("status", "--all", "--name", "alpha", "--json").json()["jobs"]
    assert [j["id"] for j in named] == [a]
    detail = cli("status", b).out
    assert "exited with status 1" in detail and "session" in detail
    assert cli("status", "--state", "bogus").code == 201


def test_errors_are_one_line_with_documented_codes(cli: Cli, tmp_path: Path) -> None:
    cases = [
        (["status", "999"], 202, "unknown job id 999"),
        (["wait", "abc"], 202, "unknown job id"),
        (["submit"], 201, "no command given"),
        (["submit", "--env", "=x", "--", "true"], 201, "--env"),
        (["submit", "--backend", "nope", "--", "true"], 201, "unknown backend 'nope'"),
        (["submit", "--cwd", str(tmp_path / "missing"), "--", "true"], 201, "does not exist"),
        (["submit", "--timeout", "soon", "--", "true"], 201, "invalid duration"),
        (["submit", "--image", "x", "--", "true"], 201, "--image is for the docker, podman and kubernetes"),
        (["kill", "--signal", "NOPE", "1"], 201, "unknown signal"),
        (["frobnicate"], 201, "No such command"),
        (["submit", "--session", "bad name", "--", "true"], 201, "invalid session name"),
    ]
    for args, code, text in cases:
        r = cli(*args)
        assert r.code == code, (args, r.code, r.err)
        assert text in r.err, (args, r.err)
        assert "Traceback" not in r.err
        assert len(r.err.strip().splitlines()) == 1, r.err
    # none of these left a record behind
    assert cli("status", "--all", "--json").json()["jobs"] == []


def test_broken_store_is_reported_and_left_alone(cli: Cli) -> None:
    cli.submit("true")
    live = cli.home / "jobs.json"
    live.write_text('{"_meta": {"1": {"schema_version": 1}}, "jobs": ')
    before = live.read_bytes()
    for args in (["status"], ["submit", "--", "true"]):
        r = cli(*args)
        assert r.code == 206 and "not valid JSON" in r.err and str(live) in r.err
    assert live.read_bytes() == before
    live.write_text('{"some": "other program"}')
    r = cli("status")
    assert r.code == 206 and "not a drmaa2 job store" in r.err


@pytest.mark.parametrize(("field", "value"), [("shepherd", []), ("shepherd_start", "x"), ("group", 3),
                                              ("pid", "1"), ("deferred", {"after": [7]})])
def test_backend_data_of_the_wrong_shape_is_set_aside(cli: Cli, field: str, value: object) -> None:
    """A hand-edited record whose backend data has the wrong type is named in one warning and moved to the
    quarantine (once an internal error: a list where the shepherd's pid belongs could not be hashed); the other
    jobs stay usable."""
    kept = cli.submit("true")
    cli.submit("true")
    live = cli.home / "jobs.json"
    doc = json.loads(live.read_text())
    record = next(r for r in doc["jobs"].values() if r["id"] != kept)
    record["backend_data"][field] = value
    live.write_text(json.dumps(doc))
    r = cli("status", "--all", "--json")
    assert r.code == 0 and (f"backend data {field}" in r.err or "a dependency is not" in r.err), r.err
    assert len(r.err.strip().splitlines()) == 1 and "quarantine.json" in r.err, r.err
    assert [j["id"] for j in r.json()["jobs"]] == [kept]
    assert [r["id"] for r in json.loads(live.read_text())["jobs"].values()] == [kept]
    quarantined = json.loads((cli.home / "quarantine.json").read_text())["records"]
    assert [q["record"]["id"] for q in quarantined] == [record["id"]]


def test_home_that_is_a_file(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    r = cli("submit", "--", "true", env={"DRMAA2_HOME": str(f)})
    assert r.code == 206 and "not a directory" in r.err


def test_permissions(cli: Cli) -> None:
    job = cli.submit("true")
    cli("wait", job)
    assert stat.S_IMODE(cli.home.stat().st_mode) == 0o700
    for path in cli.home.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_parallel_submitters_lose_nothing(cli: Cli) -> None:
    n = 40
    procs = [
        subprocess.Popen([PY, "-m", "drmaa2cli", "submit", "--terse", "--", "true"], env=cli.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.append(out.strip())
    assert len(set(ids)) == n
    assert cli("wait", *ids).code == 0
    listed = {j["id"] for j in cli("status", "--json", "--limit", "0").json()["jobs"]}
    assert listed == set(ids)


def test_supervisor_killed_resolves(cli: Cli) -> None:
    job = cli.submit("sleep", "300")
    cli.until_state(job, "running")  # the shepherd started it: now it dies with the job still running
    shepherd = json.loads((cli.home / "jobs.json").read_text())["jobs"][job]["backend_data"]["shepherd"]
    started = json.loads((cli.home / "run" / f"{job}.start").read_text())
    os.kill(shepherd, signal.SIGKILL)
    try:
        # The job lives on, and is shown running, with the reason its exit status will not be known.
        until(lambda: "supervisor lost" in (cli.info(job)["annotation"] or ""), "the lost supervisor shown")
        assert cli.info(job)["state"] == "running"
        os.killpg(started["pid"], signal.SIGKILL)
        r = cli("wait", "--timeout", "120", job)
        assert r.code == 207, r.err
        info = cli.info(job)
        assert info["state"] == "failed" and "supervisor" in info["annotation"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started["pid"], signal.SIGKILL)  # orphaned: nobody else would end it


def test_sessions_create_list_destroy(cli: Cli) -> None:
    assert cli("sessions", "create", "ci").code == 0
    assert cli("sessions", "create", "ci").code == 205
    job = cli.submit("sleep", "30", options=["--session", "ci"])
    sessions = {s["name"]: s for s in cli("sessions", "--json").json()["sessions"]}
    assert set(sessions) == {"ci", "default"}
    assert cli("sessions", "destroy", "ci").code == 205  # an active job
    assert cli("sessions", "destroy", "--force", "ci").code == 0
    assert cli("status", job).code == 202
    assert cli("sessions", "destroy", "nope").code == 202


def test_history_is_archived_and_still_listed(cli: Cli) -> None:
    ids = [cli.submit("true") for _ in range(40)]
    assert cli("wait", *ids).code == 0
    cli.submit("true")  # a write that moves the finished ones to the archive
    assert list((cli.home / "archive").glob("*.json"))
    every = cli("status", "--json", "--limit", "0").json()["jobs"]
    assert [j["id"] for j in every][:40] == ids
    assert all(j["state"] == "done" for j in every[:40])
    recent = cli("status", "--json", "--limit", "5").json()["jobs"]
    assert len(recent) <= 6
    assert cli.info(ids[0])["state"] == "done"
    sessions = cli("sessions", "--json").json()["sessions"]
    assert sum(sessions[0]["counts"].values()) == 41


def test_python_m_and_version(cli: Cli) -> None:
    r = cli("--version")
    assert r.code == 0 and r.out.startswith("drmaa2 ")

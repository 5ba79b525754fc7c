"""The command line's smaller promises about seeing and controlling jobs: the detail view's start time and
deadline, the real working directory, local queues in `queues` and `config`, unknown machine names, lists of
states, rounded times in annotations, an array's logs, `wait` without ids and `kill --all` with its filters."""

from __future__ import annotations

import os
import re
from pathlib import Path

from drmaa2cli.backends.ending import seconds, timed_out
from tests.conftest import Cli, gate


def test_times_in_annotations_are_rounded() -> None:
    assert [seconds(v) for v in (2.987, 3, 1.5, 0.04, 59.96)] == ["3s", "3s", "1.5s", "0s", "60s"]
    assert timed_out(2.9871234) == "timed out after 3s"


def test_detail_view_working_directory_and_timeout_words(cli: Cli, tmp_path: Path) -> None:
    later = cli.submit("true", options=["--begin", "+1h", "--deadline", "+2h"])
    lines = dict(line.split(None, 1) for line in cli("status", later).out.splitlines() if line.strip())
    info = cli.info(later)
    assert lines["begin"] == info["start_time"] and lines["deadline"] == info["deadline_time"], lines
    assert cli("kill", later).code == 0
    job = cli("submit", "--terse", "--deadline", "+2s", "--", "sleep", "30", cwd=tmp_path).out.strip()
    assert cli("wait", job).code == 143
    info = cli.info(job)
    assert re.fullmatch(r"timed out after [12](\.\d)?s", info["annotation"]), info  # its time left, rounded
    assert info["working_directory"] == str(tmp_path)  # where it ran, though none was asked for


def test_local_queues_are_listed_and_unknown_names_are_202(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700, exist_ok=True)
    (cli.home / "config.toml").write_text("[queues.two]\nslots = 2\n")
    r = cli("queues", "--json")
    assert r.code == 0, r.err
    assert r.json()["queues"] == [{"name": "two", "available": True, "default": False, "slots": 2, "used": 0,
                                   "machines": []}]
    assert "two" in cli("queues", "two").out
    assert cli("queues", "three").code == 202
    assert cli("config", "--json").json()["queues"] == {"two": {"slots": 2}}
    assert "queues.two.slots" in cli("config").out
    r = cli("machines", "no-such-host")
    assert r.code == 202 and len(r.err.splitlines()) == 1, r.err
    assert cli("machines", os.uname().nodename).code == 0


def test_state_lists_array_logs_and_wait_without_ids(cli: Cli, tmp_path: Path) -> None:
    array = cli("submit", "--terse", "--wait", "--array", "1-2", "--", "sh", "-c", "echo task $DRMAA2_TASK_ID").out
    array = array.strip()
    assert cli("logs", array).out == f"==> {array}.1 <==\ntask 1\n==> {array}.2 <==\ntask 2\n"
    held = cli.submit("true", options=["--hold"])
    go = tmp_path / "go"
    running = cli.submit("sh", "-c", f"{gate(go)}; exit 3")
    cli.until_state(running, "running")
    r = cli("status", "--json", "--state", "queued_held,running")
    assert sorted(j["id"] for j in r.json()["jobs"]) == sorted([held, running])
    assert cli("status", "--state", "queued,nosuch").code == 201
    assert cli("kill", held).code == 0
    # Every active job of the session: the running one, which cannot end before the test lets it.
    r = cli("wait", "--timeout", "1s")
    assert r.code == 124, (r.code, r.err)
    go.touch()
    assert cli("wait").code in (0, 3)  # 0 when it ended before this wait looked
    assert cli.info(running)["exit_status"] == 3
    r = cli("wait")
    assert r.code == 0 and "no active job" in r.err


def test_kill_all_with_filters(cli: Cli, tmp_path: Path) -> None:
    go = tmp_path / "go"
    a1 = cli.submit("sh", "-c", gate(go), options=["--session", "a", "--name", "x"])
    a2 = cli.submit("sh", "-c", gate(go), options=["--session", "a", "--name", "y"])
    b1 = cli.submit("sh", "-c", gate(go), options=["--session", "b", "--hold"])
    b2 = cli.submit("sh", "-c", gate(go), options=["--session", "b"])
    assert cli("kill", "--all", a1).code == 201
    assert cli("kill", "--name", "x").code == 201  # a filter without --all
    assert cli("kill", "--all", "--session", "a", "--name", "x").code == 0
    assert cli("wait", a1).code == 143
    assert cli("kill", "--all", "--state", "queued_held").code == 0
    assert cli("wait", b1).code == 207  # killed before it started
    assert cli.info(a2)["state"] in ("queued", "running") and cli.info(b2)["state"] in ("queued", "running")
    r = cli("kill", "--all")
    assert r.code == 0 and "killed 2 job(s)" in r.err, r.err
    assert cli("wait", a2, b2).code == 143
    r = cli("kill", "--all")
    assert r.code == 0 and "no active job" in r.err

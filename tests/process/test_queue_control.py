"""Queue control on the process backend beyond the contract cases: times as the user writes them, the config's
local queues checked, a queue's jobs started by one runner that leaves when none waits, an array in a queue, and
a kill of a job waiting for a slot."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from drmaa2cli.errors import InvalidArgument
from drmaa2cli.when import point_in_time
from tests.conftest import Cli, until

NOW = datetime(2026, 11, 29, 12, 0, 0).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+10m", NOW + 600),
        ("+90s", NOW + 90),
        ("13:30", datetime(2026, 11, 29, 13, 30).timestamp()),
        ("08:00", datetime(2026, 11, 30, 8, 0).timestamp()),  # past today: tomorrow, as sbatch --begin reads it
        ("2026-12-01T08:00", datetime(2026, 12, 1, 8, 0).timestamp()),
        ("2026-12-01 08:00:30", datetime(2026, 12, 1, 8, 0, 30).timestamp()),
    ],
)
def test_times_as_written(text: str, expected: float) -> None:
    assert point_in_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["25:00", "2026-02-30T08:00", "tomorrow", "+", "+10x", "8", ""])
def test_bad_times_are_one_clear_error(text: str) -> None:
    with pytest.raises(InvalidArgument, match="--begin: invalid"):
        point_in_time(text, now=NOW)


def config(cli: Cli, text: str) -> None:
    cli.home.mkdir(mode=0o700, exist_ok=True)
    (cli.home / "config.toml").write_text(text)


@pytest.mark.parametrize("entry", ["slots = 0", "slots = true", 'slots = "4"', ""])
def test_a_bad_local_queue_in_the_config_is_one_line(cli: Cli, entry: str) -> None:
    config(cli, f"[queues.four]\n{entry}\n")
    r = cli("submit", "--queue", "four", "--", "true")
    assert r.code == 201 and r.err.count("\n") == 1 and "[queues.four]" in r.err and "slots" in r.err, r.err
    assert "line 1" in r.err or "line 2" in r.err, r.err


@pytest.mark.parametrize("text", ["[sessions.ci]\nslots = 0\n", "[sessions.ci]\nlimit = 2\n",
                                  '["sessions"."a:b"]\nslots = 2\n', "sessions = 3\n"])
def test_bad_session_slots_in_the_config_are_one_line(cli: Cli, text: str) -> None:
    config(cli, text)
    r = cli("submit", "--session", "ci", "--", "true")
    assert r.code == 201 and r.err.count("\n") == 1 and "sessions" in r.err, r.err


def test_retry_delay_needs_retries(cli: Cli) -> None:
    r = cli("submit", "--retry-delay", "5s", "--", "true")
    assert r.code == 201 and "--retries" in r.err and r.err.count("\n") == 1, r.err
    r = cli("submit", "--retries", "2", "--retry-delay", "soon", "--", "true")
    assert r.code == 201 and "--retry-delay" in r.err and r.err.count("\n") == 1, r.err


def test_queue_runner_leaves_when_no_job_waits(cli: Cli, tmp_path: Path) -> None:
    config(cli, "[queues.two]\nslots = 2\n")
    gate = tmp_path / "go"
    gated = ["sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.1; done', str(gate)]
    first = [cli.submit(*gated, options=("--queue", "two")) for _ in range(2)]
    waiting = cli.submit("true", options=("--queue", "two"))
    killed = cli.submit("true", options=("--queue", "two"))
    array = cli.submit("true", options=("--queue", "two", "--array", "1-3"))
    for job in first:
        cli.until_state(job, "running")
    assert cli.info(waiting)["annotation"] == "waiting for a slot"
    assert cli("kill", killed).code == 0
    assert cli.info(killed)["state"] == "failed" and cli.info(killed)["dispatch_time"] is None
    gate.touch()
    assert cli("wait", "--timeout", "120", waiting, array, *first).code == 0
    assert cli.info(killed)["dispatch_time"] is None  # never started after its kill
    until(lambda: '"queue_runners":{}' in (cli.home / "jobs.json").read_text(), "the queue's runner left")


def test_begin_and_kill_before_it(cli: Cli) -> None:
    job = cli.submit("true", options=("--begin", "+1h"))
    info = cli.info(job)
    assert info["state"] == "queued" and info["annotation"].startswith("waiting until "), info
    assert abs(datetime.fromisoformat(info["start_time"]).timestamp() - (time.time() + 3600)) < 120
    record = json.loads((cli.home / "jobs.json").read_text())["jobs"]["1"]
    runner = record["backend_data"]["deferred"]["runner"]
    assert cli("kill", job).code == 0
    assert cli("wait", job).code == 207
    until(lambda: not runner_alive(runner), "the runner of a job killed before its start time left")


def runner_alive(pid: int) -> bool:
    try:
        return b"_runner" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _runners(home: Path) -> list[int]:
    """The drmaa2 runner processes of ``home`` (found by their environment's DRMAA2_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"_runner" in argv and f"DRMAA2_HOME={home}".encode() in env:
            found.append(int(entry.name))
    return found


def test_one_runner_retries_every_job_of_a_home(cli: Cli, tmp_path: Path) -> None:
    """Each submit with --retries brings a runner; once it started its job it hands the job to the home's retry
    runner and exits, so the jobs' retries cost one process, not one each; it leaves once none may be retried."""
    gate = tmp_path / "go"
    jobs = [cli.submit("sh", "-c", 'while [ ! -e "$0" ]; do sleep 0.1; done; exit 3', str(gate),
                       options=("--retries", "1")) for _ in range(4)]
    until(lambda: len(_runners(cli.home)) == 1, "the runners handed their jobs to one")
    time.sleep(1)
    assert len(_runners(cli.home)) == 1
    gate.touch()
    r = cli("wait", *jobs)
    assert r.code == 3, r.err
    listing = json.loads(cli("status", "--json", *jobs).out)["jobs"]
    assert [j["attempt"] for j in listing] == [2, 2, 2, 2], listing
    until(lambda: not _runners(cli.home), "the retry runner left")

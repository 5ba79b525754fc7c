"""`--notify` and `[notify] command` from the command line: a hook that fails or hangs never holds up or loses
its job -- it is bounded in time, killed, and its failure is a line of notify.log in the home."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import Cli

DEADLINE = 60.0


def log_lines(path: Path, count: int) -> list[str]:
    end = time.monotonic() + DEADLINE
    while True:
        found = path.read_text().splitlines() if path.exists() else []
        if len(found) >= count:
            return found
        assert time.monotonic() < end, f"{path} holds {found} after {DEADLINE:g}s"
        time.sleep(0.1)


def test_a_failing_hook_is_recorded_and_the_job_is_not_touched(cli: Cli) -> None:
    r = cli("submit", "--wait", "--terse", "--mail-type", "END", "--notify", "echo broken >&2; exit 9", "--",
            "true")
    assert r.code == 0, r.err
    job = r.out.strip()
    (line,) = log_lines(cli.home / "notify.log", 1)
    assert line.endswith(f"job {job} end: hook 'echo broken >&2; exit 9' exited with status 9: broken"), line
    assert cli.info(job)["state"] == "done"


def test_a_hanging_hook_is_killed_after_its_time(cli: Cli, tmp_path: Path) -> None:
    started = time.monotonic()
    r = cli("submit", "--wait", "--terse", "--notify", f"echo $$ >> {tmp_path}/pids; exec sleep 300", "--",
            "true", env={"DRMAA2_NOTIFY_TIMEOUT": "1"})
    assert r.code == 0, r.err
    job = r.out.strip()
    lines = log_lines(cli.home / "notify.log", 2)
    assert sorted(line.split(" ", 1)[1] for line in lines) == [
        f"job {job} begin: hook 'echo $$ >> {tmp_path}/pids; exec sleep 300' killed after 1s",
        f"job {job} end: hook 'echo $$ >> {tmp_path}/pids; exec sleep 300' killed after 1s",
    ]
    assert time.monotonic() - started < 30
    for pid in (tmp_path / "pids").read_text().split():
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_the_config_names_the_hook_a_job_does_not(cli: Cli, tmp_path: Path) -> None:
    events = tmp_path / "events"
    cli.home.mkdir(exist_ok=True)
    (cli.home / "config.toml").write_text(f'[notify]\ncommand = "echo $DRMAA2_EVENT >> {events}"\n')
    job = cli.submit("sh", "-c", "exit 1")
    assert cli("wait", job).code == 1
    assert sorted(log_lines(events, 2)) == ["begin", "fail"]

"""The cf backend end to end through the real CLI (a subprocess per command) against the stand-in."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cf_standin import StandIn

from .fixtures import write_cf_config


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """`python -m drmaa2cli ARGS` in this test's environment; keeps everything it printed."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.seen: list[str] = []

    def __call__(self, *args: str) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "drmaa2cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.seen += [proc.stdout, proc.stderr]
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def info(self, job: str) -> dict[str, Any]:
        r = self("status", "--json", job)
        assert r.code == 0, r.err
        (found,) = json.loads(r.out)["jobs"]
        return dict(found)


@pytest.fixture
def cf_cli(tmp_path: Path, cf_target: dict[str, Any]) -> Cli:
    home = tmp_path / "drmaa2"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRMAA2_", "CF_"))}
    env.update(cf_target["env"], DRMAA2_HOME=str(home), DRMAA2_BACKEND="cf")
    return Cli(home, env)


APP = ["--app", "worker"]


def test_submit_wait_gives_the_task_exit_status(cf_cli: Cli) -> None:
    r = cf_cli("submit", "--wait", "--terse", *APP, "--", "sh", "-c", "echo hello; exit 3")
    assert r.code == 3, r.err
    job = r.out.strip().splitlines()[0]
    info = cf_cli.info(job)
    assert (info["state"], info["exit_status"], info["exit_code"]) == ("failed", 3, 3)
    assert info["annotation"] == "exited with status 3" and info["backend"] == "cf"
    assert info["native_id"] and info["category"] == "worker"


def test_wait_from_another_process(cf_cli: Cli) -> None:
    r = cf_cli("submit", "--terse", *APP, "--", "sh", "-c", "sleep 0.3; exit 5")
    job = r.out.strip()
    assert r.code == 0 and job, r.err
    assert cf_cli("wait", job).code == 5
    assert cf_cli.info(job)["state"] == "failed"


def test_logs_come_from_log_cache(cf_cli: Cli) -> None:
    job = cf_cli("submit", "--terse", *APP, "--", "sh", "-c", "echo hello; echo oops >&2").out.strip()
    assert cf_cli("wait", job).code == 0
    out, err = cf_cli("logs", job), cf_cli("logs", "--stderr", job)
    assert (out.code, out.out, err.out) == (0, "hello\n", "oops\n")


def test_kill_cancels_the_task(cf_cli: Cli) -> None:
    """drmaa2 kill ends a task as it ends a job everywhere: signal 15, exit code 143 (once 207, because Cloud
    Foundry reports a cancelled task without its signal), also to a wait that started before the kill."""
    job = cf_cli("submit", "--terse", *APP, "--", "sleep", "30").out.strip()
    waiting = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "wait", job], env=cf_cli.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert cf_cli("kill", job).code == 0
        assert waiting.wait(timeout=60) == 143, waiting.communicate()[1]
    finally:
        if waiting.poll() is None:
            waiting.kill()
        waiting.communicate()
    assert cf_cli("wait", job).code == 143
    info = cf_cli.info(job)
    assert (info["state"], info["signal"], info["exit_code"], info["exit_status"]) == ("failed", 15, 143, None)
    assert info["annotation"] == (
        "killed by drmaa2 kill (SIGTERM; Cloud Foundry does not say whether SIGKILL followed)")


def test_a_task_cancelled_by_someone_else_has_no_exit_status(cf_cli: Cli, standin: StandIn) -> None:
    job = cf_cli("submit", "--terse", *APP, "--", "sleep", "30").out.strip()
    standin.world.cancel_task(cf_cli.info(job)["native_id"])  # `cf terminate-task`, not drmaa2 kill
    assert cf_cli("wait", job).code == 207  # how it ended is not known
    info = cf_cli.info(job)
    assert (info["state"], info["signal"], info["annotation"]) == ("failed", None, "task was cancelled")


@pytest.mark.parametrize(
    ("option", "word"),
    [
        (["--cwd", "/tmp"], "--cwd is for the"),  # refusals name the option typed
        (["--env", "A=1"], "--env is for the"),
        (["--timeout", "5"], "--timeout is for the"),
        (["--cpus", "2"], "--cpus is for the"),
    ],
)
def test_refused_options_write_no_record(cf_cli: Cli, option: list[str], word: str) -> None:
    r = cf_cli("submit", *APP, *option, "--", "true")
    assert r.code == 201 and word in r.err and r.err.count("\n") == 1
    assert json.loads(cf_cli("status", "--json").out)["jobs"] == []


def test_unknown_app_and_unreachable_api_write_no_record(cf_cli: Cli, standin: StandIn, tmp_path: Path) -> None:
    r = cf_cli("submit", "--app", "nosuch", "--", "true")
    assert r.code == 201 and "no app named 'nosuch'" in r.err
    cf_cli.home.mkdir(parents=True, exist_ok=True)
    (cf_cli.home / "config.toml").write_text("[backends.cf]\nretries = 1\n")
    standin.stop()
    r = cf_cli("submit", *APP, "--", "true")
    assert r.code == 203 and "cannot" in r.err, r.err
    assert json.loads(cf_cli("status", "--json").out)["jobs"] == []


def test_expired_login_is_renewed_and_no_token_is_kept(
    cf_cli: Cli, standin: StandIn, cf_target: dict[str, Any]
) -> None:
    cf_home = Path(cf_target["env"]["CF_HOME"])
    write_cf_config(cf_home, standin.cf_config(ttl=-5))
    job = cf_cli("submit", "--terse", *APP, "--", "echo", "done").out.strip()
    assert cf_cli("wait", job).code == 0
    cf_cli("status", "--json", job)
    cf_cli("logs", job)  # whether or not this drmaa2 has it: its answer is checked for tokens too
    config = cf_home / ".cf" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    standin.world.check_token(json.loads(config.read_text())["AccessToken"])
    stored = [p.read_bytes().decode("utf-8", "replace") for p in cf_cli.home.rglob("*") if p.is_file()]
    assert stored  # the store was written
    for token in standin.world.issued:
        assert all(token not in text for text in stored + cf_cli.seen)


def test_run_streams_the_output_and_exits_with_the_status(cf_cli: Cli) -> None:
    r = cf_cli("run", *APP, "--", "sh", "-c", "echo one; sleep 0.5; echo two; exit 4")
    assert (r.code, r.out) == (4, "one\ntwo\n"), r.err


def test_hold_release_array_and_dependency_through_the_core(cf_cli: Cli, standin: StandIn) -> None:
    held = cf_cli("submit", "--terse", "--hold", *APP, "--", "true").out.strip()
    assert cf_cli.info(held)["state"] == "queued_held" and standin.world.tasks == {}
    array = cf_cli("submit", "--terse", "--array", "1-3", "--after", held, *APP, "--", "true").out.strip()
    assert cf_cli("release", held).code == 0
    assert cf_cli("wait", held, array).code == 0, cf_cli.seen[-1]
    labels = sorted(t.labels["drmaa2-job"].split("-", 1)[1] for t in standin.world.tasks.values())
    assert labels == sorted([held, f"{array}.1", f"{array}.2", f"{array}.3"])


def test_a_copy_read_before_the_kill_ends_it_killed(cf_cli: Cli) -> None:
    """A `wait` holds the job as read when it began; the kill another command records meanwhile must still
    decide how the task ended (and a write from that copy must not drop it)."""
    from drmaa2cli import config
    from drmaa2cli.service import Service

    job = cf_cli("submit", "--terse", *APP, "--", "sleep", "30").out.strip()
    waiter = Service(config.resolve(environ=cf_cli.env), environ=cf_cli.env)
    (stale,) = waiter.resolve_ids([job])
    assert "terminate_requested" not in stale.backend_data
    assert cf_cli("kill", job).code == 0
    deadline = time.monotonic() + 60
    while not stale.state.final:
        assert time.monotonic() < deadline, "the cancelled task never ended"
        (stale,) = waiter.refresh([stale])
        time.sleep(0.1)
    assert (stale.signal, stale.exit_code()) == (15, 143)
    assert cf_cli.info(job)["exit_code"] == 143

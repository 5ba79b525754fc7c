"""The cf backend through the real CLI against the Cloud Foundry stand-in, under faults: an expired token shared
by many concurrent submitters, 401 in the middle of a wait, 429/500/reset/slow answers, a create whose answer
is lost, submitters killed at random moments, and permanent failures. Retries and token renewal must work, no
task may be created twice, a permanent failure must be one line with a documented code -- and no password,
client secret or token may ever show up in the store, in output or in a message."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.cf.fixtures import write_cf_config
from tests.cf_standin import StandIn
from tests.conftest import Result, gate, until

from .conftest import Scale
from .harness import Figures, kill_all, one_line_error, read_store, spawn, supervisors, wait_for

APP = ["--app", "worker"]
TASKS = r"^/v3/tasks\?"
CREATE = r"^/v3/apps/[\w-]+/tasks$"
PASSWORD = "pw-9f8e7d6c5b4a-do-not-leak"
CLIENT_SECRET = "cs-0a1b2c3d4e5f-do-not-leak"


class CfCli:
    """``drmaa2`` on the cf backend; keeps every byte it printed for the credential check."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.seen: list[str] = []

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        proc = subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        self.seen += [proc.stdout, proc.stderr]
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def submit(self, *command: str) -> str:
        r = self("submit", "--terse", *APP, "--", *command)
        assert r.code == 0, r.err
        return r.out.strip()


@pytest.fixture
def cf(tmp_path: Path, cf_target: dict[str, Any]) -> CfCli:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRMAA2_", "CF_"))}
    home = tmp_path / "drmaa2"
    env.update(cf_target["env"], DRMAA2_HOME=str(home), DRMAA2_BACKEND="cf")
    home.mkdir(mode=0o700)
    # Quicker polls and retries than the defaults, so that faults are met within a test's time.
    (home / "config.toml").write_text("[backends.cf]\npoll_max = 0.5\nretries = 4\nrequest_timeout = 2\n")
    return CfCli(home, env)


def tasks_per_label(standin: StandIn) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in standin.world.tasks.values():
        label = task.labels.get("drmaa2-job", "")
        counts[label] = counts.get(label, 0) + 1
    return counts


def test_expired_login_shared_by_concurrent_submitters(
    cf: CfCli, standin: StandIn, cf_home: Path, scale: Scale, figures: Figures
) -> None:
    write_cf_config(cf_home, standin.cf_config(ttl=-5))  # every submitter finds an expired token
    with ThreadPoolExecutor(scale.cf_submitters) as pool:
        results = list(pool.map(lambda n: cf("submit", "--terse", *APP, "--", "sh", "-c", f"exit {n % 3}"),
                                range(scale.cf_submitters)))
    assert all(r.code == 0 for r in results), [r.err for r in results if r.code]
    ids = [r.out.strip() for r in results]
    assert len(set(ids)) == len(ids) == scale.cf_submitters
    assert len(standin.world.tasks) == len(ids) and set(tasks_per_label(standin).values()) == {1}
    config = cf_home / ".cf" / "config.json"
    standin.world.check_token(json.loads(config.read_text())["AccessToken"])  # a valid token written back
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    r = cf("wait", *ids)
    assert r.code == 2, r.err  # the highest of 0, 1, 2
    figures.set("submitters", len(ids))
    figures.set("token_renewals", len(standin.requests_to("POST", "/oauth/token$")))
    figures.set("duplicate_tasks", len(standin.world.tasks) - len(ids))


@pytest.mark.parametrize(
    "faults",
    [
        [("429", {"retry_after": 0.3})],
        [("500", {"count": 2}), ("reset", {"count": 2})],
        [("503", {"count": 3}), ("slow", {"delay": 2.5})],
        [("reset", {"count": 6})],
    ],
    ids=["429", "500+reset", "503+slow", "long-outage"],
)
def test_wait_rides_out_api_faults(
    cf: CfCli, standin: StandIn, faults: list[tuple[str, dict[str, Any]]], figures: Figures
) -> None:
    job = cf.submit("sh", "-c", "sleep 0.5; exit 4")
    for kind, options in faults:
        standin.add_fault("GET", TASKS, kind, **options)
        figures.add("faults_injected", options.get("count", 1))
    r = cf("wait", job)
    assert r.code == 4, r.err
    assert len(standin.world.tasks) == 1
    assert all(f.count == 0 for f in standin.faults)  # each fault was met


def test_token_revoked_during_wait(cf: CfCli, standin: StandIn, figures: Figures, tmp_path: Path) -> None:
    go = tmp_path / "go"
    job = cf.submit("sh", "-c", f"{gate(go)}; exit 5")  # the stand-in runs it locally: it sees go
    asked = len(standin.requests_to("GET", "^/v3/tasks"))
    waiter = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "wait", job], env=cf.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The waiter holds a token once it has asked about the task.
    until(lambda: len(standin.requests_to("GET", "^/v3/tasks")) > asked, "the waiter asking about its task")
    standin.world.revoke_access_tokens()  # the API now answers 401 to the token the waiter holds
    figures.add("faults_injected")
    go.touch()
    out, err = waiter.communicate(timeout=120)
    cf.seen += [out, err]
    assert waiter.returncode == 5, err
    assert standin.requests_to("POST", "/oauth/token$")  # renewed with the refresh token


@pytest.mark.parametrize("kind", ["reset", "500"])
def test_create_answer_lost_is_one_task(cf: CfCli, standin: StandIn, kind: str, figures: Figures) -> None:
    standin.add_fault("POST", CREATE, kind, when="after")  # created, but the client sees an error
    figures.add("faults_injected")
    job = cf.submit("sh", "-c", "exit 6")
    assert cf("wait", job).code == 6
    assert len(standin.requests_to("POST", CREATE)) == 1 and len(standin.world.tasks) == 1


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        ("create-500", 203, "cannot create the task"),
        ("refresh-refused", 208, "cf login"),
        ("api-down", 203, "no answer from"),
    ],
)
def test_permanent_failure_is_one_line(
    cf: CfCli, standin: StandIn, cf_home: Path, setup: str, code: int, words: str, figures: Figures
) -> None:
    if setup == "create-500":
        standin.add_fault("POST", CREATE, "500", count=100)
    elif setup == "refresh-refused":
        write_cf_config(cf_home, standin.cf_config(ttl=-5, RefreshToken="not-a-valid-refresh-token-at-all"))
    else:
        standin.stop()
    figures.add("faults_injected")
    r = cf("submit", *APP, "--", "true")
    assert r.code == code, (r.code, r.err)
    one_line_error(r)
    assert words in r.err, r.err
    if setup != "create-500":  # refused before any record was written
        assert not read_store(cf.home).ids
    else:  # the record was written first; it says why the job never ran
        (job,) = read_store(cf.home).live.values()
        assert job["state"] == "failed" and "cannot create the task" in job["annotation"]
    assert len(standin.world.tasks) == 0


def test_killed_submitters_make_no_duplicate_task(
    cf: CfCli, standin: StandIn, scale: Scale, figures: Figures
) -> None:
    rng = random.Random(9)
    reported: set[str] = set()
    kills = 0
    for _ in range(max(10, scale.kills // 10)):
        proc = spawn(cf.env, "submit", "--terse", *APP, "--", "true")
        time.sleep(rng.uniform(0.1, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        if proc.returncode == -signal.SIGKILL:
            kills += 1
        if out.strip():
            reported.add(out.decode().strip())
    figures.set("kills", kills)
    assert set(tasks_per_label(standin).values()) <= {1}, tasks_per_label(standin)
    listing = cf("status", "--json", "--limit", "0")
    assert listing.code == 0, listing.err
    listed = {j["id"]: j for j in json.loads(listing.out)["jobs"]}
    assert reported <= set(listed)
    figures.set("records_lost", len(reported - set(listed)))
    # A record whose task exists is matched to it by label; one whose create was never sent waits out
    # the grace period (a minute) and then fails. Either way: never two tasks, and the tasks all finish.
    labels = {task.labels["drmaa2-job"].split("-", 1)[1] for task in standin.world.tasks.values()}
    for job_id, job in listed.items():
        if job_id in labels:
            assert wait_for(lambda j=job_id: cf("status", "--json", j).out.count('"done"') == 1, 30), job
    assert set(tasks_per_label(standin).values()) <= {1}


def test_no_credential_is_ever_written_or_shown(cf: CfCli, standin: StandIn, tmp_path: Path,
                                                figures: Figures) -> None:
    """Credentials from the environment (CI) and from a cf login, through every command and error path."""
    standin.world.users["ci-user"] = PASSWORD
    standin.world.clients["ci-client"] = CLIENT_SECRET
    base = {"CF_API": standin.url, "CF_ORG": "org", "CF_SPACE": "dev", "CF_HOME": str(tmp_path / "none")}
    logins = [
        {**base, "CF_USERNAME": "ci-user", "CF_PASSWORD": PASSWORD},
        {**base, "CF_CLIENT_ID": "ci-client", "CF_CLIENT_SECRET": CLIENT_SECRET},
        {},  # the cf CLI's login (tokens in $CF_HOME/.cf/config.json)
    ]
    for login in logins:
        done = cf("submit", "--wait", "--terse", *APP, "--", "sh", "-c", "echo out; echo err >&2", env=login)
        assert done.code == 0, done.err
        job = done.out.split()[0]
        slow = cf("submit", "--terse", *APP, "--", "sleep", "30", env=login).out.strip()
        for args in (["status"], ["status", "--json"], ["status", job], ["logs", job], ["logs", "-e", job],
                     ["kill", slow], ["wait", slow], ["run", *APP, "--", "echo", "x"], ["sessions"],
                     ["config"], ["config", "--json"], ["rm", job]):
            cf(*args, env=login)
        standin.world.revoke_access_tokens()  # 401: renewed, or refused
        cf("submit", "--wait", *APP, "--", "true", env=login)
        standin.add_fault("POST", CREATE, "500")
        cf("submit", *APP, "--", "true", env=login)
        figures.add("logins_tried")
    # Wrong credentials: refused, and the refused secret is not repeated either.
    wrong = {**base, "CF_USERNAME": "ci-user", "CF_PASSWORD": PASSWORD + "-wrong"}
    r = cf("submit", *APP, "--", "true", env=wrong)
    assert r.code == 208, r.err
    secrets = [PASSWORD, PASSWORD + "-wrong", CLIENT_SECRET, *standin.world.issued]
    stored = [p.read_bytes().decode("utf-8", "replace") for p in cf.home.rglob("*") if p.is_file()]
    sent = [t.command for t in standin.world.tasks.values()]
    places = stored + cf.seen + sent
    leaks = [s[:12] + "…" for s in secrets if any(s in text for text in places)]
    figures.set("secrets_checked", len(secrets))
    figures.set("places_checked", len(places))
    assert not leaks, leaks
    assert "Traceback" not in "".join(cf.seen)


def test_runner_gone_resolves_its_jobs(cf: CfCli, standin: StandIn, figures: Figures) -> None:
    """Jobs the core starts later (held, or waiting for another job) have a runner as their supervisor."""
    held = cf("submit", "--terse", "--hold", *APP, "--", "true").out.strip()
    after = cf("submit", "--terse", "--after", held, *APP, "--", "true").out.strip()
    runners = supervisors(cf.home)
    assert len(runners) == 2, runners
    figures.add("faults_injected", kill_all(runners))
    r = cf("wait", "--timeout", "30", held, after)
    assert r.code == 207, (r.code, r.err)
    for job in (held, after):
        info = json.loads(cf("status", "--json", job).out)["jobs"][0]
        assert info["state"] == "failed", info
        assert info["annotation"] == "never started: its runner exited before starting it"
    assert standin.world.tasks == {}

"""One contract suite, run through the real CLI against every backend (psij's approach).

Each backend contributes a fixture ``<name>_target`` returning {"options": [...], "env": {...}}: the submit
options that select it and the environment its client needs. A backend whose engine cannot be started skips
here without CI=true and fails with it (its fixture decides).
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Cli

BACKENDS = ["process", "docker", "cf", "slurm", "gridengine"]


@pytest.fixture
def process_target() -> dict[str, Any]:
    return {"options": ["--backend", "process"], "env": {}}


class Target:
    def __init__(self, cli: Cli, spec: dict[str, Any]) -> None:
        self.cli = cli
        self.options: list[str] = spec["options"]
        self.env: dict[str, str] = spec["env"]

    def __call__(self, *args: str) -> Any:
        return self.cli(*args, env=self.env, timeout=120)

    def submit(self, *command: str, options: tuple[str, ...] = ()) -> str:
        r = self("submit", "--terse", *self.options, *options, "--", *command)
        assert r.code == 0, r.err
        return str(r.out.strip())

    def info(self, job_id: str) -> dict[str, Any]:
        r = self("status", "--json", job_id)
        assert r.code == 0, r.err
        return r.json()["jobs"][0]  # type: ignore[no-any-return]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, cli: Cli) -> Target:
    return Target(cli, request.getfixturevalue(f"{request.param}_target"))


def test_exit_codes_and_states(target: Target) -> None:
    ok = target.submit("sh", "-c", "exit 0")
    bad = target.submit("sh", "-c", "exit 3")
    assert target("wait", ok).code == 0
    assert target("wait", bad).code == 3
    assert target.info(ok)["state"] == "done"
    info = target.info(bad)
    assert (info["state"], info["exit_status"], info["exit_code"]) == ("failed", 3, 3)
    assert info["backend"] == target.options[1]
    assert target("submit", "--wait", *target.options, "--", "sh", "-c", "exit 5").code == 5


def test_arguments_and_output(target: Target) -> None:
    args = ["a b", "'q'", '"d"', "$(x)", "*", "ü ✓"]
    job = target.submit("sh", "-c", 'printf "%s|" "$@"; echo; echo err >&2', "sh", *args)
    assert target("wait", job).code == 0
    assert target("logs", job).out == "|".join(args) + "|\n"
    assert target("logs", "--stderr", job).out == "err\n"


def test_kill_ends_failed(target: Target) -> None:
    job = target.submit("sleep", "60")
    assert target("kill", job).code == 0
    assert target("wait", "--timeout", "60", job).code != 0
    assert target.info(job)["state"] == "failed"
    assert target("kill", job).code == 205


def test_array_and_dependency(target: Target) -> None:
    array = target.submit("sh", "-c", "exit $((DRMAA2_TASK_ID == 2))", options=("--array", "1-3%2"))
    assert target("wait", array).code == 1
    doc = target("status", "--json", array).json()
    assert doc["arrays"][0]["failed_tasks"] == [2]
    after = target.submit("true", options=("--after", array))
    assert target("wait", after).code == 207
    assert "dependency" in target.info(after)["annotation"]


def test_hold_and_release(target: Target) -> None:
    job = target.submit("true", options=("--hold",))
    assert target.info(job)["state"] == "queued_held"
    assert target("release", job).code == 0
    assert target("wait", "--timeout", "60", job).code == 0


def test_unknown_job(target: Target) -> None:
    assert target("wait", "424242").code == 202
    assert target("kill", "424242").code == 202

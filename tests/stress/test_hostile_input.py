"""Hostile input: arguments, environment values, names, paths and ids with quotes, newlines, ``$(...)``, globs,
control characters, unicode, bytes that are not UTF-8 and very long values. What the job is given must reach it
byte for byte (no shell unless it asks for one); what drmaa2 prints must stay one record per line and valid
JSON; what is malformed must be refused with a documented code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .harness import Figures, cli_env, one_line_error, run


@pytest.mark.parametrize("key", ["", "=x", "1ABC", "A-B", "A B", "A\n", "Ä"])
def test_malformed_environment_names_are_refused(tmp_path: Path, key: str, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    r = run(env, "submit", "--env", f"{key}=1" if "=" not in key else key, "--", "true")
    assert r.code == 201, (key, r.code, r.err)
    one_line_error(r)
    figures.add("values_tried")


HOSTILE_IDS = ["1;rm -rf /", "../1", "1\n2", "1\n", " 1", "1 ", "\u0661", "\uff11", "1.1.1", "-1", "0x1", "1e3",
               "+1", "9" * 40, "1." + "9" * 40, "", ".", "1.", ".1", "*", "$(id)", "\xff"]


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
def test_hostile_job_ids(tmp_path: Path, job_id: str, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    job = run(env, "submit", "--terse", "--", "true").out.strip()
    assert job == "1"
    for command in ("status", "wait", "logs", "kill", "rm"):
        r = run(env, command, job_id)
        figures.add("calls")
        if job_id.strip() == "1":
            assert r.code in (0, 205), (command, job_id, r.err)  # surrounding blanks are forgiven
            continue
        assert r.code in (201, 202), (command, job_id, r.code, r.err)
        one_line_error(r)
    if job_id.strip() != "1":  # nothing touched the job
        assert [j["id"] for j in json.loads(run(env, "status", "--json").out)["jobs"]] == ["1"]


@pytest.mark.parametrize("name", ["ci\n", "a b", "../x", "x/y", "", "-x", "\u0661", "ünï", "a" * 65, "$(id)", "*"])
def test_hostile_session_names_are_refused(tmp_path: Path, name: str, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    # An empty --session or DRMAA2_SESSION means "not given" (the default session), like any empty setting.
    calls = [["sessions", "create", name]] + ([["submit", "--session", name, "--", "true"]] if name else [])
    for args in calls:
        r = run(env, *args)
        figures.add("calls")
        assert r.code == 201, (args, r.code, r.err)
        one_line_error(r)
    if name:
        r = run({**env, "DRMAA2_SESSION": name}, "submit", "--", "true")
        assert r.code == 201, r.err
        assert json.loads(run(env, "sessions", "--json").out)["sessions"] == [{"name": "default", "counts": {}}]

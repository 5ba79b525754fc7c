"""Property-based (hypothesis, derandomised: CI sees the same cases every run): every option of `submit`, read
from its one declaration (``commands.options.SUBMIT``), given values of every shape, run in-process through the
command's own entry (``cli.entry.main``). Whatever comes in: exit 0 or a documented code (201 a usage error, 202
an unknown job after ``--after``), one ``drmaa2:`` line on stderr for an error, never an internal error; and the
store still loads with every job submitted before. Every job is submitted held and never runs; the fixture's
cleanup kills them.

Paths stay inside the test's own directory (the process backend creates output files at submission); the
backend is process or a name that is none (no engine is ever asked)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drmaa2cli.cli.entry import main
from drmaa2cli.commands import options
from drmaa2cli.store import Store
from tests.conftest import Cli

#: Words a command line can hold (argv has no NUL; a byte that is not UTF-8 comes as a lone surrogate).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=10)
CURATED = ["", " ", "-", "--", "-1", "0", "1", "2.5", "1e400", "nan", "inf", "99999999999999999999", "\udcff",
           "x" * 300, "A=1", "A", "=", "PATH", "A=1,B", "ALL", "NONE", "ALL,A=1", "+10m", "+5m", "+0s", "08:00",
           "25:00", "2000-01-01T00:00", "2026-02-30", "90s", "1h30m", "512m", "0g", "1.5", "-1g", "1-3", "1-2%1",
           "1,3", "5-1", "1-3:0", "1-100001", "1-3%0", "/a:/b", "a:b", "network=none", "%A", "$(id)", "ünï"]
WORD = TEXT | st.sampled_from(CURATED)
#: Per option, the values worth more than random words.
SPECIAL = {
    "backend": st.sampled_from(["process", "no-such-backend", "PROCESS"]),
    "after": st.sampled_from(["1", "2", "999", "1,2", "x", "1.1"]),
    "after_any": st.sampled_from(["1", "999", "x"]),
    "priority": st.integers(-2_000_000, 2_000_000).map(str) | WORD,
    "retries": st.integers(-5, 2000).map(str) | WORD,
}
PATH_OPTIONS = {o.param for o in options.SUBMIT if o.convert == "path"}
NEVER = {"wait", "hold", "terse"}  # a held job is never waited for; these two are always given


def path_words(base: Path) -> st.SearchStrategy[str]:
    """A path inside ``base``, or one that cannot be there; never a file of the machine's own."""
    inside = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0/"), max_size=8)
    return inside.map(lambda name: str(base / name)) | st.sampled_from(
        ["/nonexistent/dir/x", str(base), str(base / "%A" / "x"), str(base / "x.%a"), "missing", "job.sh"])


@st.composite
def command_lines(draw: st.DrawFn, base: Path) -> list[str]:
    words: list[str] = []
    for option in draw(st.lists(st.sampled_from([o for o in options.SUBMIT if o.param not in NEVER]),
                                max_size=4)):
        words.append(draw(st.sampled_from(option.flags)))
        if option.kind == "flag":
            continue
        values = path_words(base) if option.param in PATH_OPTIONS else SPECIAL.get(option.param, WORD)
        words.append(draw(values))
    command = draw(st.sampled_from([["true"], ["sh", "-c", "exit 3"], ["./missing.sh"], ["./job.sh", "x"],
                                    ["drmaa2-no-such-command"]]))
    return ["submit", "--hold", "--terse", *words, "--", *command]


def could_run(template: dict[str, Any]) -> str | None:
    """What would make an accepted job fail later on the process backend, said independently of the check under
    test; None when nothing does."""
    command = template["remote_command"]
    cwd = template.get("working_directory") or os.getcwd()
    if "/" in command and not os.access(os.path.join(cwd, command), os.X_OK):
        return f"command {command} cannot be run"
    for key in ("output_path", "error_path"):
        path = template.get(key)
        if path and "%" not in path and (os.path.isdir(path) or not os.path.isdir(os.path.dirname(path))):
            return f"{key} {path} cannot be written"
    begin, deadline = template.get("start_time"), template.get("deadline_time")
    if begin is not None and deadline is not None and begin >= deadline:
        return "it begins after its deadline"
    if template.get("timeout") is not None and template["timeout"] <= 0:
        return "its run-time limit is not positive"
    return None


def test_every_submit_option_with_values_of_every_shape(cli: Cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    for key in [k for k in os.environ if k.startswith("DRMAA2_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DRMAA2_HOME", str(cli.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "job.sh").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "job.sh").chmod(0o755)
    seen: dict[int, int] = {}
    submitted: set[str] = set()

    @settings(derandomize=True, database=None, max_examples=120, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(argv=command_lines(tmp_path))
    def one(argv: list[str]) -> None:
        with pytest.raises(SystemExit) as ended:
            main(argv)
        code = ended.value.code
        out, err = capsys.readouterr()
        assert isinstance(code, int) and code in (0, 201, 202), (argv, code, err)
        if code == 0:
            assert err == "" and out.strip(), (argv, out, err)
        else:
            assert out == "" and err.startswith("drmaa2: ") and err.count("\n") == 1, (argv, out, err)
            assert "internal error" not in err and "Traceback" not in err, (argv, err)
        seen[code] = seen.get(code, 0) + 1
        records = list(Store(cli.home).snapshot().live_records())
        ids = {r["id"] for r in records}
        assert submitted <= ids, submitted - ids  # every earlier job still there
        assert all(r.get("dispatch_time") is None for r in records), argv  # none ever ran
        new = [r for r in records if r["id"] not in submitted]
        submitted.update(ids)
        for record in new:  # accepted: it could run (independently of the check under test)
            assert could_run(record["template"]) is None, (argv, could_run(record["template"]))
        assert not (cli.home / "quarantine.json").exists()

    one()
    # Both outcomes were tried, or the fuzz does not test what it says.
    assert seen.get(0, 0) >= 5 and seen.get(201, 0) >= 30, seen

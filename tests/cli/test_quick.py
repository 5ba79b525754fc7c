"""A plain `submit` read without the parser (drmaa2cli.cli.quick) gives the command exactly what the parser
gives it, and leaves every other command line to the parser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drmaa2cli.cli import quick
from drmaa2cli.cli.app import command_for
from drmaa2cli.commands import submit
from tests.conftest import Cli


def _submit_command() -> Any:
    group = command_for(["submit"])
    assert isinstance(group, typer.core.TyperGroup)
    return group.commands["submit"]


def test_the_table_is_the_parsers() -> None:
    kinds = {}
    for param in _submit_command().params:
        assert not param.envvar, f"{param.name}: an option read from the environment is not in the table"
        if param.name == "command":
            continue
        assert not getattr(param, "secondary_opts", None), param.name
        kind = ("flag" if param.is_flag else "many" if param.multiple
                else "int" if param.type.name == "int range" else "one")
        for opt in param.opts:
            kinds[opt] = (param.name, kind)
        assert quick.DEFAULTS[param.name] == param.default or (param.default is None and param.multiple)
        if kind == "int":
            assert (param.type.min, param.type.max) == quick.RANGES[param.name]
            assert not param.type.min_open and not param.type.max_open and not param.type.clamp
    assert kinds == quick.OPTIONS


def _parsed(args: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any] | str:
    """What the parser hands ``submit_with`` for ``args``, or the name of the error it raises."""
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(submit, "submit_with", lambda o, stream: seen.append(dict(o)) or 0)
    try:
        command_for(args).main(args=args, prog_name="drmaa2", standalone_mode=False)
    except Exception as e:
        return type(e).__name__
    assert len(seen) == 1
    return seen[0]


TAKEN = [
    ["--", "true"], ["true"], ["true", "-x", "--", "y"], ["--", "--"], ["--json", "--", "-", "x"],
    ["-N", "x", "--env", "A=1", "--env", "B", "-j", "--priority", "5", "--", "echo", "hi"],
    ["--name=x", "--priority=-3", "--json", "--wait", "-W", "--terse", "-V", "-H", "--pull", "--", "a"],
    ["-N", "--", "true"], ["--name", "-j", "true"], ["--name=", "true"], ["--env=", "--env", "", "true"],
    ["--after", "1", "--after-any", "2", "--mount", "/a:/b", "--mount=/c:/d", "-v", "A=1,B", "true"],
    ["--priority", " 7 ", "true"], ["--priority", "1_000", "true"], ["--priority", "-1000000", "true"],
    ["-j", "-j", "true"], ["-"], ["-j", "-", "x"],
    ["-s", "s1", "-b", "process", "-d", "/tmp", "-i", "in", "-o", "o", "-e", "e", "-t", "1m", "-A", "1-3",
     "-q", "q", "--image", "i", "--app", "a", "--category", "c", "--begin", "+1m", "--deadline", "+2m",
     "--memory", "1g", "--cpus", "1", "--disk", "1g", "--user", "u", "--native", "n", "--export", "ALL",
     "--", "x", "--json"],
]
LEFT = [
    [], ["--"], ["--help"], ["-h", "true"], ["-jH", "true"], ["-Nname", "true"], ["-N=x", "true"], ["--name"],
    ["-N", "a", "-N", "b", "true"], ["--join=1", "true"], ["--priority", "x", "true"],
    ["--priority", "1000001", "true"], ["--nmae", "x", "true"], ["--traceback", "true"],
]


@pytest.mark.parametrize("words", TAKEN, ids=" ".join)
def test_a_plain_submit_reads_as_the_parser_reads_it(words: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["submit", *words]
    assert quick.submit_options(args) == _parsed(args, monkeypatch)


@pytest.mark.parametrize("words", LEFT, ids=" ".join)
def test_the_rest_is_left_to_the_parser(words: list[str]) -> None:
    assert quick.submit_options(["submit", *words]) is None


def test_scripts_other_commands_and_completion_are_left_to_the_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#DRMAA2 -N named\ntrue\n")
    assert quick.submit_options(["submit", str(script)]) is None
    assert quick.submit_options(["submit", "--", str(script)]) is None
    assert quick.submit_options(["run", "--", "true"]) is None
    assert quick.submit_options(["--traceback", "submit", "true"]) is None
    assert quick.submit_options(["submit", "true"]) is not None
    monkeypatch.setenv("_DRMAA2_COMPLETE", "complete_bash")
    assert quick.submit_options(["submit", "true"]) is None


def test_a_plain_submit_loads_no_parser_and_still_submits(cli: Cli) -> None:
    # The modules loaded, written by an exit handler: the command ends with os._exit after running them.
    probe = ("import sys, atexit; atexit.register(lambda: sys.__stderr__.write(' '.join(sys.modules))); "
             "from drmaa2cli.cli import entry; sys.argv[1:] = ['submit', '--terse', '--', 'true']; entry.main()")
    proc = subprocess.run([sys.executable, "-c", probe], env=cli.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stderr.split())
    assert "drmaa2cli.commands.submitting" in loaded
    assert not {m for m in loaded if m == "typer" or m.startswith(("typer.", "click", "rich"))}
    assert not {"drmaa2cli.monitoring", "platform", "socket", "psutil"} & loaded
    assert cli("wait", proc.stdout.strip()).code == 0


def test_what_a_plain_submit_says_is_what_the_parser_says(cli: Cli) -> None:
    """Errors found after parsing come out the same way on both paths (the parser runs `--name x --name y`)."""
    for bad in (["--after", "abc"], ["--timeout", "soon"], ["-b", "nosuch"]):
        quick_path = cli("submit", "-N", "x", *bad, "--", "true")
        parser_path = cli("submit", "-N", "x", "-N", "x", *bad, "--", "true")
        assert quick_path.code not in (0, 200) and quick_path.err.startswith("drmaa2: "), quick_path
        assert quick_path == parser_path


VALUES = ["x", "", "-x", "--", "a=b", " 7", "-5", "1_000", "1000000", "1000001", "٣", "true"]
ODD = ["-", "-jH", "-Nx", "--name=", "--join=1", "--help", "--priority=3", "--priority=x", "--env=K=V", "--nmae"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """Options (with values where they take one, or odd words), then ``--`` or not, then a command."""
    words: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 5)) == 0:
            words.append(draw(st.sampled_from(ODD)))
            continue
        option = draw(st.sampled_from(sorted(quick.OPTIONS)))
        words.append(option)
        if quick.OPTIONS[option][1] != "flag":
            words.append(draw(st.sampled_from(VALUES)))
    return [*words, *draw(st.sampled_from([["--"], []])), *draw(st.sampled_from([["true"], ["true", "-j"], []]))]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=command_lines())
def test_any_command_line_reads_as_the_parser_reads_it_or_goes_to_it(
    words: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["submit", *words]
    found = quick.submit_options(args)
    if found is not None:
        assert found == _parsed(args, monkeypatch)

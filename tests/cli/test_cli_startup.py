"""What keeps the CLI's start-up short must not change what it does: a command built alone is the command of the
whole app, and the submit path does not load what it does not use."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from drmaa2cli.cli.app import app, command_for
from tests.conftest import Cli

NAMES = [*(c.name for c in app.registered_commands), *(g.name for g in app.registered_groups)]


def _group(command: object) -> typer.core.TyperGroup:
    assert isinstance(command, typer.core.TyperGroup)
    return command


def _help(group: typer.core.TyperGroup, name: str) -> str:
    command = group.commands[name]
    parent = typer.Context(group, info_name="drmaa2")
    return command.get_help(typer.Context(command, info_name=name, parent=parent))


@pytest.mark.parametrize("name", NAMES)
def test_a_command_built_alone_is_the_same_command(name: str) -> None:
    full = _group(typer.main.get_command(app))  # what main() ran before it built one command alone
    alone = _group(command_for([name, "--help"]))
    assert list(alone.commands) == [name]
    assert [p.opts for p in alone.commands[name].params] == [p.opts for p in full.commands[name].params]
    assert _help(alone, name) == _help(full, name)
    # --version, --traceback and the shell-completion options
    assert [p.opts for p in alone.params] == [p.opts for p in full.params]


def test_help_typos_and_completion_get_the_whole_app(monkeypatch: pytest.MonkeyPatch) -> None:
    every = set(_group(typer.main.get_command(app)).commands)
    assert set(_group(command_for(["--help"])).commands) == every
    assert set(_group(command_for(["--traceback", "sumbit"])).commands) == every
    assert list(_group(command_for(["--traceback", "submit", "true"])).commands) == ["submit"]
    monkeypatch.setenv("_DRMAA2_COMPLETE", "complete_bash")
    assert set(_group(command_for(["submit"])).commands) == every


def test_submit_does_not_load_what_it_does_not_use() -> None:
    code = ("import sys; from drmaa2cli.cli import app; from drmaa2cli.commands import submit; "
            "print(' '.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert not {"rich", "httpx", "tomllib", "secrets", "shlex", "socket", "drmaa2cli.backends.cf",
                "drmaa2cli.backends.docker", "drmaa2cli.backends.sched"} & loaded


def test_checking_stored_records_loads_no_backend() -> None:
    code = ("import sys; from drmaa2cli.backends import REGISTRY, check_data; "
            "[check_data(name, {}) for name in REGISTRY]; print(' '.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert not {"httpx", "socket", "shlex", "subprocess", "drmaa2cli.backends.cf.backend",
                "drmaa2cli.backends.docker.backend", "drmaa2cli.backends.sched.backend",
                "drmaa2cli.backends.process.backend"} & loaded


def test_config_is_parsed_only_when_present_and_bad_bytes_are_a_usage_error(cli: Cli) -> None:
    assert cli("config", "--json").json()["settings"]["session"]["source"] == "default"
    cli.home.mkdir(mode=0o700, exist_ok=True)
    (cli.home / "config.toml").write_bytes(b'session = "caf\xe9"\n')
    r = cli("config")
    assert r.code == 201 and "config.toml is not valid TOML" in r.err, r.err


def test_the_command_exits_with_all_its_output_written(cli: Cli) -> None:
    array = cli.submit("true", options=["--array", "1-400"])
    assert cli("wait", array).code == 0
    r = cli("status", "--json", array)  # ~300 kB through a pipe: far more than any stdio buffer
    assert r.code == 0 and len(r.json()["jobs"]) == 400
    table = cli("status", "--limit", "0")
    assert table.code == 0 and len(table.out.splitlines()) == 402  # header, 400 tasks, the array summary


def test_command_modules_keep_their_annotations_evaluated() -> None:
    """Typer reads the options from the annotations on every run; from strings that costs ~3 ms a submit."""
    import re
    from pathlib import Path

    from drmaa2cli import commands

    for path in Path(commands.__file__).parent.glob("*.py"):
        assert not re.search(r"^from __future__ import annotations", path.read_text(), re.M), path.name

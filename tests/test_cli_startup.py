"""What keeps the CLI's start-up short must not change what it does: a command built alone is the command of the
whole app, and the submit path does not load what it does not use."""

from __future__ import annotations

import pytest
import typer
from typer._click import Context

from drmaa2cli.cli import app, command_for

NAMES = [*(c.name for c in app.registered_commands), *(g.name for g in app.registered_groups)]


def _group(command: object) -> typer.core.TyperGroup:
    assert isinstance(command, typer.core.TyperGroup)
    return command


def _help(group: typer.core.TyperGroup, name: str) -> str:
    command = group.commands[name]
    return command.get_help(Context(command, info_name=name, parent=Context(group, info_name="drmaa2")))


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


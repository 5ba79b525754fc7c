"""The Typer app. Commands are registered by hand; ``entry.main`` (which loads this module only when the parser
is needed) is the one place that turns errors into exit codes (commands return an int and never exit
themselves)."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from .. import __version__
from ..commands import (
    alter,
    config,
    control,
    doctor,
    kill,
    logs,
    monitor,
    requeue,
    rm,
    run,
    serve,
    sessions,
    status,
    submit,
    wait,
)

__all__ = ["app", "command_for"]

app = typer.Typer(
    name="drmaa2",
    help="Submit and supervise jobs (processes, containers, Cloud Foundry tasks, Slurm and Grid Engine jobs) "
    "through one DRMAA2 interface.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["--help", "-h"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"drmaa2 {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the Python traceback of an internal error.")] = False,
) -> None:
    """Submit and supervise jobs through one DRMAA2 interface."""


def _runner() -> int:
    """Start the jobs a submit left to a runner (spawned by submit; reads the job number on stdin)."""
    from ..commands._service import service
    from ..deferred import runner
    from ..deferred.starting import read_number

    number = read_number()
    if number is not None:
        runner.run(service(), number)
    return 0


def _notify() -> int:
    """Fire the notifications of a submission's jobs (spawned by submit; reads the job number on stdin)."""
    from ..commands._service import service
    from ..notify import watch

    given = watch.read_orders()
    if given is not None:
        watch.run(service(), *given)
    return 0


# Options after the command belong to the job: `drmaa2 submit ls -l` passes -l to ls.
_JOB_COMMAND = {"allow_interspersed_args": False}
app.command("submit", help=submit.HELP, context_settings=_JOB_COMMAND)(submit.command)
app.command("status", help=status.HELP)(status.command)
app.command("wait", help=wait.HELP)(wait.command)
app.command("kill", help=kill.HELP)(kill.command)
for _action in ("hold", "release", "suspend", "resume"):
    app.command(_action, help=control.HELP[_action])(control.make(_action))
app.command("run", help=run.HELP, context_settings=_JOB_COMMAND)(run.command)
app.command("logs", help=logs.HELP)(logs.command)
app.command("rm", help=rm.HELP)(rm.command)
app.command("alter", help=alter.HELP)(alter.command)
app.command("requeue", help=requeue.HELP)(requeue.command)
app.command("doctor", help=doctor.HELP)(doctor.command)
app.command("_runner", hidden=True)(_runner)
app.command("_notify", hidden=True)(_notify)
app.command("config", help=config.HELP)(config.command)
app.command("machines", help=monitor.MACHINES_HELP)(monitor.machines)
app.command("queues", help=monitor.QUEUES_HELP)(monitor.queues)
app.command("jobs", help=monitor.JOBS_HELP)(monitor.jobs)
app.add_typer(sessions.app, name="sessions", help=sessions.HELP)
app.add_typer(serve.app, name="serve", help=serve.HELP)


def command_for(args: Sequence[str]) -> Any:
    """The click command that runs ``args``: the root group holding only the subcommand they name, because
    building every command's parameters costs ~8 ms of each run. Without a known subcommand (``--help``,
    ``--version``, a typo) and while completing, the whole app."""
    name = next((a for a in args if not a.startswith("-")), None)
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if (not commands and not groups) or "_DRMAA2_COMPLETE" in os.environ:
        return typer.main.get_command(app)
    one = copy.copy(app)
    one.registered_commands, one.registered_groups = commands, groups
    return typer.main.get_command(one)

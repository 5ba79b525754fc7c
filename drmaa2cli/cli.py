"""The Typer app. Commands are registered by hand; ``main`` is the one place that turns errors into exit
codes (commands return an int and never exit themselves)."""

from __future__ import annotations

import atexit
import copy
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from . import __version__
from .commands import alter, config, control, kill, logs, monitor, requeue, rm, sessions, status, submit, wait
from .errors import Drmaa2Error, ExitStatus
from .render import printable, safe_streams

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
    from . import runner
    from .commands._common import service

    number = runner.read_number()
    if number is not None:
        runner.run(service(), number)
    return 0


# Options after the command belong to the job: `drmaa2 submit ls -l` passes -l to ls.
_JOB_COMMAND = {"allow_interspersed_args": False}
app.command("submit", help=submit.HELP, context_settings=_JOB_COMMAND)(submit.command)
app.command("status", help=status.HELP)(status.command)
app.command("wait", help=wait.HELP)(wait.command)
app.command("kill", help=kill.HELP)(kill.command)
for _action in ("hold", "release", "suspend", "resume"):
    app.command(_action, help=control.HELP[_action])(control.make(_action))
app.command("run", help=submit.RUN_HELP, context_settings=_JOB_COMMAND)(submit.run_command)
app.command("logs", help=logs.HELP)(logs.command)
app.command("rm", help=rm.HELP)(rm.command)
app.command("alter", help=alter.HELP)(alter.command)
app.command("requeue", help=requeue.HELP)(requeue.command)
app.command("_runner", hidden=True)(_runner)
app.command("config", help=config.HELP)(config.command)
app.command("machines", help=monitor.MACHINES_HELP)(monitor.machines)
app.command("queues", help=monitor.QUEUES_HELP)(monitor.queues)
app.command("jobs", help=monitor.JOBS_HELP)(monitor.jobs)
app.add_typer(sessions.app, name="sessions", help=sessions.HELP)


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


def _is_usage_error(e: Exception) -> bool:
    """A command-line error of the parser Typer is built on (a usage error, a bad value, a bare `drmaa2`).

    Typer vendors that parser privately, so its exception classes are known by their public behaviour (an
    ``exit_code`` and a ``format_message``), not imported: a Typer release that moves them changes nothing."""
    return isinstance(getattr(e, "exit_code", None), int) and callable(getattr(e, "format_message", None))


def _usage(e: Any) -> int:
    """Print a parser error in drmaa2's one-line form; `drmaa2` alone prints the help, as a success."""
    if type(e).__name__ == "NoArgsIsHelpError":
        sys.stdout.write(e.format_message() + "\n")
        return ExitStatus.OK
    ctx = getattr(e, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    sys.stderr.write(f"drmaa2: {printable(e.format_message())}{hint}\n")
    return ExitStatus.USAGE


def _internal(e: Exception) -> int:
    sys.stderr.write(
        f"drmaa2: internal error: {type(e).__name__}: {printable(str(e))} (run with --traceback for details)\n"
    )
    return ExitStatus.INTERNAL


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``drmaa2`` command."""
    safe_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or bool(os.environ.get("DRMAA2_TRACEBACK"))
    code: int
    try:
        result = command_for(args).main(args=args, prog_name="drmaa2", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except Drmaa2Error as e:
        if show_traceback:
            raise
        sys.stderr.write(f"drmaa2: {printable(str(e))}\n")
        code = e.exit_status
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("\n")
        code = ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`drmaa2 status | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitStatus.OK
    except Exception as e:
        if _is_usage_error(e):
            code = _usage(e)
        elif show_traceback:
            raise
        else:
            code = _internal(e)
    sys.stdout.flush()
    if argv is None:
        # The drmaa2 command itself: skip the interpreter's teardown of every loaded module, ~10 ms of CPU
        # (a sixth of a submit). Exit handlers still run and both streams are flushed; nothing else holds
        # buffered output (store files are written with os.write and fsync).
        atexit._run_exitfuncs()
        sys.stderr.flush()
        os._exit(int(code))
    sys.exit(int(code))

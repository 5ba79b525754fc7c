"""drmaa2 submit [OPTIONS] -- COMMAND [ARGS...] | drmaa2 submit [OPTIONS] SCRIPT [ARGS...]"""

import inspect
from typing import Annotated, Any

import typer

from .. import completion, parsing
from ..errors import InvalidArgument
from ._common import BackendOption, JsonOption, SessionOption
from .submitting import build_template, refuse_dash_dash, report_failure, submit_with

__all__ = ["HELP", "RUN_HELP", "build_template", "command", "parse_directive", "report_failure", "run_command"]

HELP = (
    "Submit a job: everything after `--` is the command and its arguments, passed byte for byte. A file "
    "(a path, or a name here that is no command on PATH) is a job script, run with its #! interpreter (/bin/sh "
    "without one) from a copy taken now; with no command, a script is read from standard input. Its leading "
    "#DRMAA2 lines hold submit options, #SBATCH and #$ lines sbatch's and qsub's; the command line wins."
)


def command(
    command: Annotated[list[str] | None, typer.Argument(help="The command and its arguments.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", "-N", help="Job name.")] = None,
    session: SessionOption = None,
    backend: BackendOption = None,
    cwd: Annotated[str | None, typer.Option("--cwd", "-d", help="Working directory of the job.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the job's environment, exactly (repeatable; a bare KEY copies it).")] = None,
    variables: Annotated[list[str] | None, typer.Option("--variables", "-v", help="qsub's list A=1,B=2,C (a bare C copies it; write a comma or backslash in a value as \\, or \\\\).")] = None,
    export_all: Annotated[bool, typer.Option("--export-all", "-V", help="Give the job this whole environment.")] = False,
    export: Annotated[str | None, typer.Option("--export", help="sbatch's ALL, NONE (an empty environment) or [ALL,]A=1,B.")] = None,
    input_path: Annotated[str | None, typer.Option("--input", "-i", help="File the job reads as standard input.")] = None,
    output_path: Annotated[str | None, typer.Option("--output", "-o", help="File for the job's standard output (placeholders %A %a %j).")] = None,
    error_path: Annotated[str | None, typer.Option("--error", "-e", help="File for the job's standard error (placeholders %A %a %j).")] = None,
    join: Annotated[bool, typer.Option("--join", "-j", help="Send standard error to the output file.")] = False,
    timeout: Annotated[str | None, typer.Option("--timeout", "-t", help=f"Kill the job after this run time ({parsing.DURATION_HELP}).")] = None,
    array: Annotated[str | None, typer.Option("--array", "-A", help="Job array FIRST-LAST[:STEP][%MAXPARALLEL] (1-9:2%3); tasks see DRMAA2_TASK_ID.")] = None,
    after: Annotated[list[str] | None, typer.Option("--after", help="Start after these jobs are done; fail if one fails (ID[,ID...]).", autocompletion=completion.job_ids)] = None,
    after_any: Annotated[list[str] | None, typer.Option("--after-any", help="Start after these jobs ended, whatever their result.", autocompletion=completion.job_ids)] = None,
    hold: Annotated[bool, typer.Option("--hold", "-H", help="Submit held (queued_held) until `drmaa2 release`.")] = False,
    image: Annotated[str | None, typer.Option("--image", help="Container image (docker, kubernetes backends).")] = None,
    app: Annotated[str | None, typer.Option("--app", help="Application name (cf backend).")] = None,
    category: Annotated[str | None, typer.Option("--category", help="DRMAA2 job category (what --image and --app set).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Queue or partition (cluster backends), or a local queue of the config ([queues.NAME] slots = N).")] = None,
    priority: Annotated[int, typer.Option("--priority", help="Among jobs waiting for a slot of a local queue, higher starts first.", min=-1_000_000, max=1_000_000)] = 0,
    begin: Annotated[str | None, typer.Option("--begin", help="Do not start before this time: 2026-12-01T08:00, 08:00 or +10m.")] = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="Kill the job at this time, as --timeout does (formats of --begin).")] = None,
    retries: Annotated[int, typer.Option("--retries", help="Run a failed job again, up to N times (`wait` gives the last attempt's code).", min=0, max=1000)] = 0,
    retry_delay: Annotated[str | None, typer.Option("--retry-delay", help=f"Pause between a failure and its retry ({parsing.DURATION_HELP}).")] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory limit (512m, 2g).")] = None,
    cpus: Annotated[str | None, typer.Option("--cpus", help="CPU limit (1.5).")] = None,
    disk: Annotated[str | None, typer.Option("--disk", help="Disk limit (1g; cf backend).")] = None,
    mount: Annotated[list[str] | None, typer.Option("--mount", help="Bind mount SRC:DST[:ro] (docker; kubernetes: a path on the node; repeatable).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="User to run as inside the container.")] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Pull the image if it is not present (docker; kubernetes: always pull).")] = False,
    native: Annotated[str | None, typer.Option("--native", help="Extra options passed to the scheduler as they are.")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-W", help="Wait for the job and exit with its exit code.")] = False,
    terse: Annotated[bool, typer.Option("--terse", help="Print only the job id.")] = False,
    json_out: JsonOption = False,
) -> int:
    """Submit a job."""
    return submit_with(locals(), stream=False)


def run_command(**options: Any) -> int:
    """Submit, stream the output live, wait, and exit with the job's exit code."""
    return submit_with(options, stream=True)


# `run` takes exactly the options of `submit` (Typer reads both of these).
run_command.__signature__ = inspect.signature(command, eval_str=True)  # type: ignore[attr-defined]
run_command.__annotations__ = command.__annotations__
RUN_HELP = (
    "Run a job synchronously: submit it with this command's standard input (unless a terminal), stream its "
    "stdout and stderr live, exit with its exit code; Ctrl-C stops the job. With --json the output is not "
    "streamed (stdout holds the JSON alone; `drmaa2 logs ID` prints the output)."
)


def parse_directive(words: list[str]) -> dict[str, Any]:
    """The options a #DRMAA2 line sets, read by this command's own parser. Raises InvalidArgument."""
    import typer.main

    one = typer.Typer()
    one.command(context_settings={"help_option_names": []})(command)
    parser = typer.main.get_command(one)
    try:
        ctx = parser.make_context("#DRMAA2", list(words))
    except Exception as e:
        message = getattr(e, "format_message", None)
        if callable(message):  # the parser's usage error (see cli._is_usage_error)
            raise InvalidArgument(str(message())) from None
        raise
    defaults = {p.name: p.get_default(ctx) for p in parser.params}
    found = {k: v for k, v in ctx.params.items() if v not in (None, False, [], ()) and v != defaults.get(k)}
    if found.pop("command", None):
        raise InvalidArgument("a #DRMAA2 line holds options, not a command")
    refuse_dash_dash(found)
    return found

"""drmaa2 sessions [create NAME | destroy NAME]"""

from typing import Annotated

import typer

from .. import render
from ..models import JobState
from ._common import JsonOption, output, service

HELP = "List job sessions with their job counts per state; create or destroy one."

app = typer.Typer(help=HELP, invoke_without_command=True, no_args_is_help=False)

COLUMNS = [JobState.QUEUED, JobState.QUEUED_HELD, JobState.RUNNING, JobState.SUSPENDED, JobState.DONE,
           JobState.FAILED]


@app.callback()
def list_sessions(ctx: typer.Context, json_out: JsonOption = False) -> int:
    """List job sessions with their job counts per state."""
    if ctx.invoked_subcommand is not None:
        return 0
    svc = service()
    out = output()
    sessions = svc.sessions()
    if json_out:
        out.json({"sessions": [{"name": s.name, "counts": s.counts} for s in sessions]})
        return 0
    header = ["SESSION", *(s.value.upper() for s in COLUMNS), "TOTAL"]
    rows = [[s.name, *(str(s.counts.get(c.value, 0)) for c in COLUMNS), str(sum(s.counts.values()))]
            for s in sessions]
    render.table(out, header, rows)
    return 0


@app.command("create", help="Create a job session (submit also creates one on first use).")
def create(
    name: Annotated[str, typer.Argument(help="Session name.")],
    exist_ok: Annotated[bool, typer.Option("--exist-ok", "-p", help="Succeed if it exists already (as mkdir -p).")] = False,
) -> int:
    service().create_session(name, exist_ok=exist_ok)
    return 0


@app.command("destroy", help="Destroy a session with its job records and output files.")
def destroy(
    name: Annotated[str, typer.Argument(help="Session name.")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Kill its active jobs first.")] = False,
) -> int:
    removed = service().destroy_session(name, force=force)
    output().note(f"destroyed session {name} ({removed} job record(s) removed)")
    return 0

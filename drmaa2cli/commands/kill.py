"""drmaa2 kill JOBID... | kill --all [--session NAME] [--state S,...] [--name NAME]"""

from typing import Annotated

import typer

from .. import parsing
from ..errors import InvalidArgument
from . import completion
from ._common import output, service
from .status import STATE_HELP, parse_states

HELP = (
    "Terminate jobs: SIGTERM to the job, SIGKILL after a grace period; or exactly the --signal given. An array "
    "id kills every active task and skips the ended ones (205 if all have ended). --all ends every active job "
    "(of every session, or of --session NAME; --state and --name select among them), as `pueue kill --all` "
    "and `scancel -u` do."
)


def command(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Job ids (12, or 12.3 for one array task).", show_default=False, autocompletion=completion.job_ids)] = None,
    signal: Annotated[str | None, typer.Option("--signal", "-S", help="Send this signal instead (TERM, KILL, INT, 9).")] = None,
    every: Annotated[bool, typer.Option("--all", "-a", help="Every active job (that the filters select).")] = False,
    session: Annotated[str | None, typer.Option("--session", "-s", help="With --all: only this session's jobs.", autocompletion=completion.sessions)] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help=f"With --all: {STATE_HELP}")] = None,
    name: Annotated[str | None, typer.Option("--name", "-N", help="With --all: only jobs with this name.")] = None,
) -> int:
    """Terminate jobs."""
    number = parsing.signal_number(signal) if signal else None
    if every == bool(job_ids):
        raise InvalidArgument("give job ids or --all, not both" if every else "give job ids, or --all")
    if not every and (session or state or name):
        raise InvalidArgument("--session, --state and --name select jobs for --all")
    if not every:
        service().kill(job_ids or [], number)
        return 0
    states = parse_states(state)
    svc = service(session)
    jobs, _ = svc.list_jobs(session=session, states=states, name=name, limit=None)
    active = [j.id for j in jobs if not j.state.final]
    if active:
        svc.kill(active, number)
    output().note(f"killed {len(active)} job(s)" if active else "no active job selected")
    return 0

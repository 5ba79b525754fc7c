"""drmaa2 rm JOBID... | drmaa2 rm --finished [--older-than DURATION]"""

from typing import Annotated

import typer

from .. import parsing
from ..errors import InvalidArgument
from . import completion
from ._common import SessionOption, output, service

HELP = "Remove finished jobs' records, output files and leftover containers (active jobs only with --force)."


def command(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Jobs to remove.", show_default=False, autocompletion=completion.job_ids)] = None,
    finished: Annotated[bool, typer.Option("--finished", help="Every finished job of the session.")] = False,
    older_than: Annotated[str | None, typer.Option("--older-than", help=f"With --finished: ended longer ago than this ({parsing.DURATION_HELP}).")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Kill active jobs and remove them too.")] = False,
    session: SessionOption = None,
) -> int:
    """Remove jobs."""
    if bool(job_ids) == finished:
        raise InvalidArgument("give job ids or --finished (not both)")
    if older_than and not finished:
        raise InvalidArgument("--older-than goes with --finished")
    age = parsing.duration(older_than, "--older-than") if older_than else None
    removed = service(session).reap(job_ids or [], finished=finished, older_than=age, force=force)
    output().note(f"removed {removed} job record(s)")
    return 0

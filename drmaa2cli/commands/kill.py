"""drmaa2 kill JOBID..."""

from typing import Annotated

import typer

from .. import parsing
from ._common import JobIds, service

HELP = (
    "Terminate jobs: SIGTERM to the job, SIGKILL after a grace period; or exactly the --signal given. An array "
    "id kills every active task and skips the ended ones (205 if all have ended)."
)


def command(
    job_ids: JobIds,
    signal: Annotated[str | None, typer.Option("--signal", "-S", help="Send this signal instead (TERM, KILL, INT, 9).")] = None,
) -> int:
    """Terminate jobs."""
    number = parsing.signal_number(signal) if signal else None
    service().kill(job_ids, number)
    return 0

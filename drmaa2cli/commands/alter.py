"""drmaa2 alter JOBID... [--name] [--priority] [--begin] [--timeout] [--after|--after-any]"""

from typing import Annotated

import typer

from .. import parsing, render, when
from ..errors import InvalidArgument
from . import completion
from ._common import JobIds, JsonOption, output, service

HELP = (
    "Change jobs not started yet (held, waiting for --after, a slot or --begin): their name, priority, start "
    "time, run-time limit or dependencies. Refused (205) once a job has started."
)


def command(
    job_ids: JobIds,
    name: Annotated[str | None, typer.Option("--name", "-N", help="New job name.")] = None,
    priority: Annotated[int | None, typer.Option("--priority", help="New priority (higher starts first).", min=-1_000_000, max=1_000_000)] = None,
    begin: Annotated[str | None, typer.Option("--begin", help="New start time: 2026-12-01T08:00, 08:00 or +10m.")] = None,
    timeout: Annotated[str | None, typer.Option("--timeout", "-t", help="New run-time limit (90s, 5m, 1h).")] = None,
    after: Annotated[list[str] | None, typer.Option("--after", help="New dependencies, replacing the old: start after these jobs are done (ID[,ID...]; '' for none).", autocompletion=completion.job_ids)] = None,
    after_any: Annotated[list[str] | None, typer.Option("--after-any", help="New dependencies: start after these jobs ended, whatever their result.", autocompletion=completion.job_ids)] = None,
    json_out: JsonOption = False,
) -> int:
    """Change jobs that have not started."""
    if after is not None and after_any is not None:
        raise InvalidArgument("use --after or --after-any, not both")
    deps = after if after is not None else after_any
    jobs = service().alter(
        job_ids, name=name, priority=priority,
        start_time=when.point_in_time(begin) if begin else None,
        timeout=parsing.duration(timeout) if timeout else None,
        after=None if deps is None else parsing.job_ids(deps),
        after_mode="any" if after_any is not None else "ok",
    )
    out = output()
    if json_out:
        out.json(render.jobs_document(jobs))
    else:
        out.line(f"Altered {len(jobs)} job(s)")
    return 0

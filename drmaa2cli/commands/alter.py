"""drmaa2 alter JOBID... [--name] [--priority] [--begin] [--timeout]"""

from typing import Annotated

import typer

from .. import parsing, render, when
from ._common import JobIds, JsonOption, output, service

HELP = (
    "Change jobs not started yet (waiting for --begin, a slot of a local queue or --after): their name, "
    "priority, start time or run-time limit. Refused (205) once a job has started."
)


def command(
    job_ids: JobIds,
    name: Annotated[str | None, typer.Option("--name", "-N", help="New job name.")] = None,
    priority: Annotated[int | None, typer.Option("--priority", help="New priority (higher starts first).", min=-1_000_000, max=1_000_000)] = None,
    begin: Annotated[str | None, typer.Option("--begin", help="New start time: 2026-12-01T08:00, 08:00 or +10m.")] = None,
    timeout: Annotated[str | None, typer.Option("--timeout", "-t", help="New run-time limit (90s, 5m, 1h).")] = None,
    json_out: JsonOption = False,
) -> int:
    """Change jobs that have not started."""
    jobs = service().alter(
        job_ids, name=name, priority=priority,
        start_time=when.point_in_time(begin) if begin else None,
        timeout=parsing.duration(timeout) if timeout else None,
    )
    out = output()
    if json_out:
        out.json(render.jobs_document(jobs))
    else:
        out.line(f"Altered {len(jobs)} job(s)")
    return 0

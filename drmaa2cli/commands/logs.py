"""drmaa2 logs JOBID [--stderr] [--follow]"""

import sys
from typing import Annotated

import typer

from .. import completion
from ..errors import InvalidArgument
from ..service import exit_code_of
from ._common import output, service
from .submit import report_failure

HELP = "Print a job's output; --follow streams it until the job ends, then exits with the job's exit code."


def command(
    job_id: Annotated[str, typer.Argument(help="Job id (12, or 12.3 for one array task).", show_default=False, autocompletion=completion.job_ids)],
    stderr: Annotated[bool, typer.Option("--stderr", "-e", help="The job's standard error instead.")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
) -> int:
    """Print a job's output."""
    svc = service()
    jobs = svc.jobs([job_id])
    if len(jobs) != 1:
        raise InvalidArgument(f"job {job_id} is an array: name one task (for example {jobs[0].id})")
    stream = "err" if stderr else "out"

    def sink(_: str, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    if not follow:
        sink(stream, svc.output(jobs[0], stream))
        return 0
    job = svc.follow(jobs[0].id, (stream,), sink)
    report_failure(output(), job)
    return exit_code_of([job])

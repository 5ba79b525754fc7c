"""drmaa2 logs JOBID [--stderr | --both] [--tail N] [--follow]"""

import sys
from typing import Annotated

import typer

from ..errors import InvalidArgument
from ..models import JobInfo
from ..service import Service, exit_code_of, last_lines
from . import completion
from ._common import output, service
from ._service import report_failure

HELP = ("Print a job's output (stdout; --stderr, or --both on their own streams); --follow streams it until the "
        "job ends, then exits with the job's exit code. An array id prints every task's, each headed by its id.")


def command(
    job_id: Annotated[str, typer.Argument(help="Job id (12, or 12.3 for one array task).", show_default=False, autocompletion=completion.job_ids)],
    stderr: Annotated[bool, typer.Option("--stderr", "-e", help="The job's standard error instead.")] = False,
    both: Annotated[bool, typer.Option("--both", "-B", help="Both: the job's stdout on stdout, its stderr on stderr.")] = False,
    tail: Annotated[int | None, typer.Option("--tail", "-n", help="Only the last N lines (of each stream).", min=0, show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
) -> int:
    """Print a job's output."""
    if stderr and both:
        raise InvalidArgument("use --stderr or --both, not both")
    svc = service()
    jobs = svc.jobs([job_id])
    if len(jobs) != 1:
        if follow:
            raise InvalidArgument(f"job {job_id} is an array: name one task to follow (for example {jobs[0].id})")
        for task in jobs:
            print_task(svc, task, ("err",) if stderr else ("out", "err") if both else ("out",), tail)
        return 0
    job = jobs[0]
    joined = job.template.join_files or (job.output_path is not None and job.output_path == job.error_path)
    streams = ("out", "err") if both and not joined else ("err",) if stderr else ("out",)
    # What is there now (its last N lines with --tail); --follow then goes on from its end.
    now = {s: svc.output(job, s) for s in streams}
    wrote = dict.fromkeys(streams, 0)

    def sink(stream: str, data: bytes) -> None:
        wrote[stream] += len(data)
        target = sys.stderr.buffer if both and stream == "err" else sys.stdout.buffer
        target.write(data)
        target.flush()

    for stream, data in now.items():
        sink(stream, data if tail is None else last_lines(data, tail))
    if follow:
        job = svc.follow(job.id, streams, sink, offsets={s: len(data) for s, data in now.items()})
        report_failure(output(), job)
    if streams == ("out",) and not wrote["out"]:
        hint_at_stderr(svc, job)
    return exit_code_of([job]) if follow else 0


def print_task(svc: Service, task: JobInfo, streams: tuple[str, ...], tail: int | None) -> None:
    """One task of an array, headed by its id as `tail` heads each of several files (``==> 12.3 <==``): its
    stdout, or stderr, on stdout; with both, its stderr (headed too) on stderr."""
    joined = task.template.join_files or (task.output_path is not None and task.output_path == task.error_path)
    for stream in streams:
        if stream == "err" and joined and len(streams) == 2:
            continue
        data = svc.output(task, stream)
        target = sys.stderr.buffer if len(streams) == 2 and stream == "err" else sys.stdout.buffer
        target.write(f"==> {task.id} <==\n".encode())
        target.write(data if tail is None else last_lines(data, tail))
        if data and not data.endswith(b"\n"):
            target.write(b"\n")
        target.flush()


def hint_at_stderr(svc: Service, job: JobInfo) -> None:
    """Nothing on stdout, yet the job wrote to stderr: say so (on stderr), or the person sees nothing at all."""
    size = len(svc.output(job, "err"))
    if size:
        output().note(f"job {job.id} wrote nothing to stdout, {size} byte(s) to stderr: "
                      f"`drmaa2 logs --stderr {job.id}` (or --both)")

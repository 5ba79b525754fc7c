"""drmaa2 wait [JOBID...]"""

from typing import Annotated

import typer

from .. import parsing, render
from ..errors import ExitStatus, WaitTimeout
from ..models import JobInfo
from . import completion
from ._common import JsonOption, SessionOption, output, service
from ._service import report_end

HELP = (
    "Wait for jobs to end; exit with the job's exit code (128+N if killed by signal N), or for several jobs "
    "0 if all are done, else the highest code. 124 if --timeout expires. Without ids: every active job of the "
    "session."
)


def command(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Job ids (default: every active job of the session).", show_default=False, autocompletion=completion.job_ids)] = None,
    timeout: Annotated[str | None, typer.Option("--timeout", "-t", help=f"Give up after this long ({parsing.DURATION_HELP}); exit 124.")] = None,
    any_job: Annotated[bool, typer.Option("--any", help="Return when the first job ends and print its id.")] = False,
    session: SessionOption = None,
    json_out: JsonOption = False,
) -> int:
    """Wait for jobs."""
    seconds = parsing.duration(timeout) if timeout else None
    svc = service(session)
    out = output()
    if not job_ids:  # pueue's and tsp's habit: every job of the session still active
        jobs, _ = svc.list_jobs(session=svc.settings.session, limit=None)
        job_ids = [j.id for j in jobs if not j.state.final]
        if not job_ids:
            if json_out:
                out.json(render.jobs_document([]))
            else:
                out.note(f"no active job in session {svc.settings.session}")
            return 0
    seen: list[JobInfo] = []

    def look(jobs: list[JobInfo]) -> None:
        seen[:] = jobs
        progress.update(jobs)

    with render.WaitProgress(out, len(job_ids) if len(job_ids) > 1 and not json_out else 0) as progress:
        try:
            jobs = svc.wait(job_ids, timeout=seconds, any_job=any_job, on_progress=look)
        except WaitTimeout:
            if json_out:  # what was seen last, and a code a script can tell from a job's own 124
                out.json(render.ended_document(seen, int(ExitStatus.TIMEOUT), "drmaa2"))
            raise
    ended = [j for j in jobs if j.state.final]
    if any_job:
        jobs = ended[:1]
        if not json_out:
            out.line(jobs[0].id)
    return report_end(out, jobs, json_out)

"""drmaa2 requeue JOBID..."""

from .. import render
from ._common import JobIds, JsonOption, output, service

HELP = (
    "Run jobs again under the same id (scontrol requeue, pueue restart): an ended job starts again, a running "
    "one is killed first. The record keeps every attempt (status --json: attempts); refused (205) for a job "
    "that has not started."
)


def command(job_ids: JobIds, json_out: JsonOption = False) -> int:
    """Run ended or running jobs again."""
    jobs = service().requeue(job_ids)
    out = output()
    if json_out:
        out.json(render.jobs_document(jobs))
    else:
        for job in jobs:
            out.line(f"Requeued job {job.id} (attempt {job.attempt})")
    return 0

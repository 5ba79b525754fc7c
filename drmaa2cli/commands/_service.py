"""The one way commands get a Service and an Output, and say why a job failed; no parser here (``cli.quick``
submits without it)."""

import os

from .. import config
from ..backends import ending
from ..errors import ExitStatus
from ..models import JobInfo, JobState
from ..render import Output, ended_document
from ..service import Service, exit_code_of


def service(session: str | None = None, backend: str | None = None) -> Service:
    """The Service of a command: each distinct warning goes to stderr once, as it arises (an outage in a long
    `wait` or `status --watch` repeats the same one)."""
    said: set[str] = set()
    out = output()

    def warn(text: str) -> None:
        if text not in said:
            said.add(text)
            out.note(text)

    settings = config.resolve({"session": session, "backend": backend})
    if settings.remote or os.environ.get("DRMAA2_REMOTE"):  # every command goes to a `drmaa2 serve` server
        from ..serve.front import RemoteService, remote_of

        found = remote_of(settings, os.environ)
        if found is not None:
            return RemoteService(settings, *found, warn=warn)
    return Service(settings, warn=warn)


def output() -> Output:
    return Output.standard()


def report_failure(out: Output, job: JobInfo) -> None:
    """One stderr line when a job failed for a reason other than its own non-zero exit."""
    if job.state is JobState.FAILED and ending.says_more_than_its_status(job.exit_status, job.signal, job.annotation):
        out.note(f"job {job.id} failed: {job.annotation}")


def report_end(out: Output, jobs: list[JobInfo], json_out: bool) -> int:
    """The end of `wait`, `submit --wait` and `run`: a line for each job that failed for a reason of its own,
    the JSON document when asked, and the exit code (``exit_code_of``)."""
    for job in jobs:
        report_failure(out, job)
    code = exit_code_of(jobs)
    if json_out:
        out.json(ended_document(jobs, code, code_from(jobs, code)))
    return code


def code_from(jobs: list[JobInfo], code: int) -> str:
    """Whose ``code`` is: "drmaa2" when it is the 207 of a job that ended without an exit status, else "job"."""
    mine = code == ExitStatus.NO_EXIT_STATUS and any(j.exit_code_from() == "drmaa2" for j in jobs)
    return "drmaa2" if mine else "job"

"""The one way commands get a Service and an Output, and say why a job failed; no parser here (``cli.quick``
submits without it)."""

import os

from .. import config
from ..backends import ending
from ..models import JobInfo, JobState
from ..render import Output
from ..service import Service


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

"""drmaa2: DRMAA2 job sessions over processes, containers, Cloud Foundry and cluster schedulers.

Use it from Python without the CLI::

    from drmaa2cli import JobSession, JobTemplate
    session = JobSession.open("default")
    job = session.run_job(JobTemplate(remote_command="sh", args=["-c", "exit 3"]))
    info = session.wait_terminated([job.id])
"""

from __future__ import annotations

from .errors import Drmaa2Error, ExitStatus
from .models import JobInfo, JobState, JobTemplate

__version__ = "0.1.0"

__all__ = ["Drmaa2Error", "ExitStatus", "Job", "JobInfo", "JobSession", "JobState", "JobTemplate", "__version__"]


def __getattr__(name: str) -> object:
    # The session API pulls in the store and TinyDB: only load it when asked for.
    if name in ("JobSession", "Job"):
        from . import session

        return getattr(session, name)
    raise AttributeError(name)

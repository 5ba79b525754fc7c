"""drmaa2 hold|release|suspend|resume JOBID...: four commands that differ only in the service call."""

from collections.abc import Callable

from ..service import Service
from ._common import JobIds, output, service

HELP = {
    "hold": "Hold queued jobs (queued_held) so they do not start; an array id holds every queued task.",
    "release": "Release held jobs.",
    "suspend": "Suspend running jobs (SIGSTOP to the process group; docker pause).",
    "resume": "Resume suspended jobs.",
}


def make(action: str) -> Callable[[list[str]], int]:
    def command(job_ids: JobIds) -> int:
        svc = service()
        method: Callable[[Service, list[str]], object] = getattr(Service, action)
        try:
            method(svc, job_ids)
        finally:
            for warning in svc.warnings:
                output().note(warning)
        return 0

    command.__doc__ = HELP[action]
    return command

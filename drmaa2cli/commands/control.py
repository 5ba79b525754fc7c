"""drmaa2 hold|release|suspend|resume JOBID...: four commands that differ only in the service call."""

from collections.abc import Callable

from ..service import Service
from ._common import JobIds, service

# An array id applies the action to the tasks it can change and skips the others, exit 0; exit 205 when it
# changes none of them (as for kill of an array whose tasks all ended) or when a task named alone cannot be.
HELP = {
    "hold": "Hold queued jobs (queued_held) so they do not start; an array id holds every queued task and skips "
            "the running and ended ones (205 if none can be held).",
    "release": "Release held jobs; an array id releases every held task and skips the others (205 if none is "
               "held).",
    "suspend": "Suspend running jobs (SIGSTOP to the process group; docker pause); an array id suspends every "
               "running task and skips queued and ended ones (205 if none runs).",
    "resume": "Resume suspended jobs; an array id resumes every suspended task and skips the others (205 if none "
              "is suspended).",
}


def make(action: str) -> Callable[[list[str]], int]:
    def command(job_ids: JobIds) -> int:
        svc = service()
        method: Callable[[Service, list[str]], object] = getattr(Service, action)
        method(svc, job_ids)
        return 0

    command.__doc__ = HELP[action]
    return command

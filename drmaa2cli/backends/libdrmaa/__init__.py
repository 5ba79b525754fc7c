"""The libdrmaa backend: jobs on any scheduler with a DRMAA v1 C library (Grid Engine, PBS Pro, LSF, HTCondor,
slurm-drmaa), through the ``drmaa`` package. ``backend`` is the contract class; ``agent`` the only code that loads
the library, run as a process of its own; ``mapping`` the pure translation of templates and results.

Only plain data here: the registry loads ``libdrmaa.backend`` only when the backend is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``): the DRMAA session's contact string, the array
#: job's id of a task, and the keeper process that waits for the job in that session (host, pid, start).
DATA_SHAPE: Shape = {
    "contact": (str,), "array_job": (str,),
    "keeper": {"host": (str,), "pid": (int,), "start": (int,)},
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
SETTINGS: dict[str, dict[str, str]] = {"libdrmaa": {"preload": "string"}}

"""The process backend: jobs as OS processes on this machine, each supervised by a detached shepherd.

Only plain data here: the shepherd is imported as ``process.shepherd`` by an interpreter that has only its
built-in modules (see ``procfs.helper_argv``), and the registry loads ``process.backend`` only when used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``): its shepherd (pid, /proc start time) and the
#: group of tasks that shepherd runs, and once it started, the job's own process.
DATA_SHAPE: Shape = {
    "shepherd": (int,), "shepherd_start": (int,), "group": (str,), "pid": (int,), "proc_start": (int,),
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
SETTINGS: dict[str, dict[str, str]] = {"process": {"cgroup": "boolean"}}

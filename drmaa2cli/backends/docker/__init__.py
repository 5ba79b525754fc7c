"""The docker backend: the contract class (``backend``), the engine client (``engine`` over ``http``), the
mapping of a template to a container (``spec``), the job's files (``files``), its output as it comes
(``streams``), the finaliser (``finish``) and the timeout watchdog (``watchdog``).

Only plain data here: the registry loads ``docker.backend`` only when the backend is used, and the watchdog is
imported as ``docker.watchdog`` by an interpreter without site-packages (see ``procfs.helper_argv``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``): its container, the engine it runs on, and the
#: process that submitted it (host, pid, /proc start time), and the cgroup parent that keeps its figures.
DATA_SHAPE: Shape = {
    "container": (str,), "engine": (str,), "cgroup": (str,),
    "submitter": {"host": (str,), "pid": (int,), "start": (int,)},
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
SETTINGS: dict[str, dict[str, str]] = {"docker": {"host": "string"}, "podman": {"host": "string"}}

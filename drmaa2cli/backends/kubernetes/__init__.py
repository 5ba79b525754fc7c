"""The kubernetes backend: each job a batch/v1 Job. The contract class (``backend``), where the credentials come
from (``config``), the API client on httpx (``api``), the mapping of a template to a Job (``spec``) and of a pod
back to a result (``result``).

Only plain data here: the registry loads ``kubernetes.backend`` only when the backend is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``): its Job object's name and namespace, the API
#: server it was created on (no credentials), and the process that submitted it (host, pid, /proc start time).
DATA_SHAPE: Shape = {
    "job": (str,), "namespace": (str,), "server": (str,),
    "submitter": {"host": (str,), "pid": (int,), "start": (int,)},
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
SETTINGS: dict[str, dict[str, str]] = {"kubernetes": {}}

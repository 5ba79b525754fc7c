"""The Cloud Foundry backend: the contract class (``backend``), the API client (``client``, over httpx), the
login (``auth``) and the mapping between templates and tasks (``map``).

Only plain data here: httpx is imported only when the registry loads ``cf.backend``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``): where its task runs and how it is found again.
DATA_SHAPE: Shape = {
    "api": (str,), "app": (str,), "app_guid": (str,), "label": (str,), "task_name": (str,),
    "sequence_id": (int,), "created_at": (str,),
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
SETTINGS: dict[str, dict[str, str]] = {
    "cf": {"request_timeout": "number", "retries": "number", "poll_max": "number"},
}

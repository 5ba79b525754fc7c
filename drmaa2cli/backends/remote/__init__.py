"""The remote backend and the one HTTP client of a `drmaa2 serve` server (``client``, over httpx): the
remote front of every command (``DRMAA2_REMOTE``) and ``submit --backend remote --contact URL`` share it.

Only plain data here: httpx is imported only when the client is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds: the server it runs on and its id there.
DATA_SHAPE: Shape = {"url": (str,), "remote_id": (str,)}
#: ``[backends.remote]``: the server's URL and the file holding its token (0600), when no --contact names one.
SETTINGS: dict[str, dict[str, str]] = {"remote": {"url": "string", "token_file": "string"}}

"""The remote backend (``backend``: a job on a `drmaa2 serve` server, ``submit --backend remote --contact
URL``) and the one HTTP client of such a server (``client``, over httpx; ``convert`` reads its JSON and errors).
The remote front of every command (``DRMAA2_REMOTE``, ``serve/front.py``) goes through the same client.

Only plain data here: httpx is imported only when the client is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds: the server it runs on and its id there.
DATA_SHAPE: Shape = {"url": (str,), "remote_id": (str,)}
#: ``[backends.remote]``: the server when no --contact names one, and the file holding its token (0600).
SETTINGS: dict[str, dict[str, str]] = {"remote": {"url": "string", "token_file": "string"}}

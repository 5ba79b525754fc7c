"""The client side of a `drmaa2 serve` server: the one HTTP client (``client``, over httpx) and the reading of
the server's JSON and errors (``convert``). The remote front of every command (``DRMAA2_REMOTE``,
``serve/front.py``) goes through it; a `remote` backend (``submit --backend remote --contact URL``, whose
local record points at the server's job) is to be built on the same client.

Nothing is imported here: httpx is loaded only when the client is used.
"""

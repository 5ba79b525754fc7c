"""`drmaa2 serve`: the jobs of one drmaa2 home behind an authenticated HTTP API (``/v1``), on Starlette and
uvicorn (the optional extra ``drmaa2[serve]``).

``tokens`` (the bearer tokens: created, kept as hashes, checked) and ``front`` (the remote front of the CLI's
commands) load no web framework; ``app``, ``routes``, ``waiting`` and ``listen`` do, and only `drmaa2 serve`
loads them.
"""

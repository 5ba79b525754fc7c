"""The Cloud Foundry backend: the contract class (``backend``), the API client (``client``, over httpx), the
login (``auth``) and the mapping between templates and tasks (``map``).

Empty on purpose: httpx is imported only when the registry loads ``cf.backend``.
"""

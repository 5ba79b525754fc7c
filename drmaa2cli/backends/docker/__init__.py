"""The docker backend: the contract class (``backend``), the engine client (``engine`` over ``http``), the
mapping of a template to a container (``spec``), the job's files (``files``), the finaliser (``finish``) and
the timeout watchdog (``watchdog``).

Empty on purpose: the registry loads ``docker.backend`` only when the backend is used, and the watchdog is
imported as ``docker.watchdog`` by an interpreter without site-packages (see ``procfs.DetachedLaunch``).
"""

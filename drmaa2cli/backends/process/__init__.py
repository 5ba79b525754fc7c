"""The process backend: jobs as OS processes on this machine, each supervised by a detached shepherd.

Empty on purpose: the shepherd is imported as ``process.shepherd`` by an interpreter that has only its
built-in modules (see ``procfs.DetachedLaunch``), and the registry loads ``process.backend`` only when used.
"""

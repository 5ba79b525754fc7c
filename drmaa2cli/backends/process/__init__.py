"""The process backend: jobs as OS processes on this machine, each supervised by a detached shepherd.

Only plain data here: the shepherd is imported as ``process.shepherd`` by an interpreter that has only its
built-in modules (see ``procfs.helper_argv``), and the registry loads ``process.backend`` only when used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``): its shepherd (pid, /proc start time) and the
#: group of tasks that shepherd runs, an array task's journal (the file its records are in), and once it
#: started, the job's own process.
DATA_SHAPE: Shape = {
    "shepherd": (int,), "shepherd_start": (int,), "group": (str,), "journal": (str,), "pid": (int,),
    "proc_start": (int,),
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
#: ``max_parallel``: how many tasks of an array without ``%N`` run at once (default: the machine's cores;
#: 0: no limit).
SETTINGS: dict[str, dict[str, str]] = {
    "process": {"cgroup": "boolean", "subreaper": "boolean", "max_parallel": "number"},
}

#: What each containment mode gives (``cgroup.mode`` decides which is in force; ``drmaa2 config`` says it).
CONTAINMENT: dict[str, dict[str, str]] = {
    "cgroup": {
        "when": "root, or a cgroup v2 subtree delegated to the user (`drmaa2 config`: `cgroup v1 (…) under DIR`)",
        "tree": "contained: every process of the job, wherever it went, is signalled by `kill` and killed when "
        "the job's main process exits",
        "accounting": "the whole tree's, from the cgroup (CPU time, peak memory, OOM kills)",
        "limits": "enforced",
    },
    "subreaper": {
        "when": "no writable cgroup: an unprivileged user on cgroup v1 or without a delegated v2 subtree, or "
        "`cgroup = false` (`drmaa2 config`: `subreaper (why no cgroup)`)",
        "tree": "contained: orphaned children (background, `setsid`, double-forked) come back to the job's "
        "supervisor, its child subreaper; `kill` signals every process of the tree, and what is left when the "
        "main process exits gets SIGTERM, then SIGKILL after the 5 s grace period; a process started outside "
        "the tree (`at`, `ssh`, a service manager) escapes",
        "accounting": "`wait4` of the main process: its CPU time and that of the children it waited for; max "
        "RSS of the largest of them",
        "limits": "refused (201)",
    },
    "process group": {
        "when": "no writable cgroup and `subreaper = false` under `[backends.process]` (`drmaa2 config`: "
        "`process group (why no cgroup)`), or a kernel that refuses `PR_SET_CHILD_SUBREAPER` (the job's "
        "start record, `run/ID.start` or its array's `run/N.journal`, says `\"subreaper\": false`)",
        "tree": "the job's process group only: `kill` signals the group; `setsid` and daemonised children "
        "leave it and outlive the job",
        "accounting": "`wait4`, as with subreaper",
        "limits": "refused (201)",
    },
}

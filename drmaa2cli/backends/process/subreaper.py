"""Containment without a cgroup: the shepherd as its jobs' child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``).

Imported by the shepherd only when no cgroup serves its job (an unprivileged user on cgroup v1, or ``cgroup =
false``), and by the CLI to signal a job's processes. Built-ins only, like the shepherd: it runs once per job.

A subreaper's orphaned descendants are re-parented to it instead of to init: a background child whose shell
exited, a ``setsid`` child, a double-forked daemon all stay in the shepherd's process tree, where the shepherd
finds them (``/proc/PID/task/TID/children``) to signal them with the job and to end them after it. The tree is all
there is to go by, so a process started outside it (through ``at``, ``ssh`` or a service manager) escapes, as it
would a cgroup too unless it lands in the job's cgroup; limits cannot be enforced without a cgroup.

Which task of an array an orphan belongs to is read from its environment (``DRMAA2_TASK_ID``, which every task
gets); an orphan without one (its environment replaced, or unreadable) belongs to whichever task ends last.

Python 3.11 has no ``os.prctl``. The call is made through the ``_ctypes`` extension, not the ``ctypes`` package
on top of it (which would add about 0.25 MiB more to each shepherd). Measured with 100 running ``sleep`` jobs as
root, a shepherd's median PSS is 3.00 MiB as subreaper, 2.99 MiB with a cgroup and 2.93 MiB with neither.
"""

from __future__ import annotations

import os

PR_SET_CHILD_SUBREAPER = 36
TASK_MARK = b"DRMAA2_TASK_ID="


def become() -> str | None:
    """Make this process a child subreaper; None when it is one, else why not."""
    try:
        import _ctypes
    except ImportError as e:
        return f"no ctypes: {e}"

    # The least of ctypes that calls a C function: a function pointer type (its result an int, arguments passed
    # as C ints: prctl reads only whether its second is non-zero) and an object with the library's _handle.
    class Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO

    def libc() -> None:
        pass

    try:
        libc._handle = _ctypes.dlopen(None, os.RTLD_NOW)  # type: ignore[attr-defined,arg-type]  # this program
        prctl = Function(("prctl", libc))  # type: ignore[arg-type]  # a CDLL needs only _handle
        if prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
            return f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(_ctypes.get_errno())}"
    except (AttributeError, OSError, TypeError) as e:
        return f"prctl(PR_SET_CHILD_SUBREAPER): {e}"
    return None


def children(pid: int) -> list[int]:
    """The children of process ``pid`` (of each of its threads), or [] once it is gone."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def tree(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants, parents before children."""
    out: list[int] = []
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop(0)
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        todo.extend(children(pid))
    return out


def task_mark(pid: int) -> str | None:
    """The DRMAA2_TASK_ID in process ``pid``'s environment ("" when it has none), None when unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read()
    except OSError:
        return None
    for item in env.split(b"\0"):
        if item.startswith(TASK_MARK):
            return item[len(TASK_MARK) :].decode(errors="replace")
    return ""


def members(reaper: int, main: int | None, task: str, others: set[int], last: bool) -> list[int]:
    """The processes of one task of the shepherd ``reaper``: its main process ``main`` (None once it ended) and
    its descendants, and the orphans re-parented to the shepherd that are the task's (its ``DRMAA2_TASK_ID``
    ``task``, "" for a job that is no array task) with their descendants. ``others`` are the main processes of
    the shepherd's other running tasks; ``last``: whether orphans of no known task count too."""
    roots = [] if main is None else [main]
    for pid in children(reaper):
        if pid == main or pid in others:
            continue
        mark = task_mark(pid)
        if not mark and not last and task:
            mark = settled_mark(pid)
        if mark == task or (last and (mark is None or mark == "")):
            roots.append(pid)
    return tree(roots)


#: Orphans whose environment read empty after EXEC_PATIENCE: they have none of their own (``env -i``), and are
#: not waited for again (read once more: the pid may since be another process's).
_empty: set[int] = set()
EXEC_PATIENCE = 0.05


def settled_mark(pid: int) -> str | None:
    """The task mark of an orphan whose environment read empty: a process in the middle of ``execve`` (``setsid
    sleep &``, just orphaned) shows none until the new program's stack is set up, so it is read again for up to
    EXEC_PATIENCE s. Costs nothing for a marked orphan, and one wait per orphan that has no environment."""
    import time

    if pid in _empty:
        return task_mark(pid)
    deadline = time.monotonic() + EXEC_PATIENCE
    while True:
        mark = task_mark(pid)
        if mark or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    if mark == "":
        _empty.add(pid)
    return mark


def signal(pids: list[int], sig: int, skip_group: int | None = None) -> int:
    """Send ``sig`` to each of ``pids`` but those in process group ``skip_group`` (signalled as a group
    already); how many were sent."""
    sent = 0
    for pid in pids:
        try:
            if skip_group is not None and os.getpgid(pid) == skip_group:
                continue
            os.kill(pid, sig)
            sent += 1
        except OSError:
            pass
    return sent

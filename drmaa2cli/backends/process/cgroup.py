"""A cgroup of its own for each process-backend job: containment, limits and the job's own accounting.

Built-ins only (``os``), like the shepherd that imports it when a job has a cgroup: it runs once per job.

Where the cgroups live (``locate``, decided by the submitting command, which hands the plan to the shepherd):

* cgroup v2, when the unified hierarchy carries the memory and cpu controllers: as root under ``/drmaa2`` at its
  root; otherwise under ``drmaa2`` beside the submitter's own cgroup when that parent is writable (a subtree
  delegated to the user, as systemd's ``Delegate=yes`` gives). The base enables memory, cpu and pids for its
  children.
* cgroup v1 (memory, cpu, cpuacct, pids, freezer, each where mounted; memory and cpuacct are required): under
  ``drmaa2`` inside the submitter's own cgroup of each hierarchy, when that is writable (root), so that whatever
  limits the submitter lives under hold its jobs too.
* Otherwise none: the shepherd is then its jobs' child subreaper (``subreaper.py``), or with ``subreaper = false``
  only the job's process group is contained (``mode``; see the README's "Containment and accounting").

A job's cgroup is ``BASE/SHEPHERD_PID-SLOT`` (unique among the running jobs of every drmaa2 home; a slot is one
of the shepherd's places for a running task). The shepherd moves itself into it for the moment of the spawn (a
child starts in its parent's cgroup), then back; when the job's main process exits, whatever is left in the
cgroup is killed (v2 ``cgroup.kill``; v1: frozen where a freezer hierarchy is in use, killed, thawed) and its
figures are read.

What each task costs is what a large array pays a thousand times over, so a task joins only the hierarchies
that carry a figure or a limit (``needed``: v1 memory and cpuacct always, cpu only for ``--cpus``; pids and
freezer never, as no limit of theirs is offered), and on v1 a slot's cgroup is kept for its next task
(``recycle``): its figures are reset (``cpuacct.usage``, ``memory.max_usage_in_bytes`` after
``memory.force_empty`` gives back the page cache the last task left charged), the OOM count it cannot reset is
remembered as a baseline. v2's figures cannot be reset (``cpu.stat``, ``memory.peak`` before Linux 6.12), so
there a task's cgroup is made and removed with it. (v2's ``CLONE_INTO_CGROUP`` would spare the two moves, but
needs ``clone3``, which ``posix_spawn`` does not offer to Python.)
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer")
V2_CONTROLLERS = ("memory", "cpu", "pids")
#: v1 hierarchies without which there is no accounting: the job would run uncontained instead.
V1_REQUIRED = ("memory", "cpuacct")
CPU_PERIOD_US = 100000
BASE_NAME = "drmaa2"


def read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except (OSError, ValueError):
        return None


def write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def unescape(field: str) -> str:
    """A /proc/self/mounts field: space, tab, newline and backslash are written as octal escapes."""
    for code, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, ch)
    return field


def parse_mounts(text: str) -> tuple[str | None, dict[str, str]]:
    """(the cgroup2 mount point or None, v1 controller -> its mount point) from /proc/self/mounts."""
    v2: str | None = None
    v1: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point, fstype, options = unescape(fields[1]), fields[2], fields[3].split(",")
        if fstype == "cgroup2" and v2 is None:
            v2 = point
        elif fstype == "cgroup":
            for name in V1_CONTROLLERS:
                if name in options:
                    v1.setdefault(name, point)
    return v2, v1


def parse_own(text: str) -> dict[str, str]:
    """Controller -> this process's cgroup path from /proc/self/cgroup; "" is the v2 (unified) one."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for name in parts[1].split(",") if parts[1] else [""]:
            own[name] = parts[2]
    return own


def under(mount: str, path: str) -> str:
    return os.path.normpath(os.path.join(mount, path.lstrip("/")))


def can_write(path: str) -> bool:
    return os.access(path, os.W_OK)


def locate(mounts: str, own_text: str, root: bool,
           writable: Callable[[str], bool] = can_write) -> dict[str, Any] | str:
    """The plan for this machine (``{"v": 1 or 2, "base": {controller: dir}, "home": {controller: dir}}``,
    v2's one hierarchy under the key "") or, when no cgroup can be had, why not. ``writable`` says whether
    this process may write a cgroup file or directory (a test's made-up tree passes its own).

    Unprivileged on v2, the shepherd must move itself from the submitter's cgroup into the job's and back, which
    the kernel allows only with write access to ``cgroup.procs`` of their common ancestor: the parent of the
    submitter's cgroup, writable when systemd delegated that subtree to the user (a shell started by
    ``systemd-run --user``, a user service), not in a login session's root-owned ``session-N.scope``."""
    v2, v1 = parse_mounts(mounts)
    own = parse_own(own_text)
    if v2 is not None and {"memory", "cpu"} <= set((read(os.path.join(v2, "cgroup.controllers")) or "").split()):
        home = under(v2, own.get("", "/"))
        if root:
            base = under(v2, BASE_NAME)
        else:
            parent = os.path.dirname(home)
            procs = os.path.join(parent, "cgroup.procs")
            if home == os.path.normpath(v2) or not writable(parent) or (os.path.exists(procs)
                                                                           and not writable(procs)):
                return "cgroup v2 without a delegated subtree (%s is not writable)" % parent
            base = os.path.join(parent, BASE_NAME)
        return {"v": 2, "base": {"": base}, "home": {"": home}}
    missing = [name for name in V1_REQUIRED if name not in v1 or name not in own]
    if missing:
        return "no cgroup hierarchy with the %s controller" % missing[0]
    homes = {name: under(point, own[name]) for name, point in v1.items() if name in own}
    for name, home in homes.items():
        if not writable(home):
            return "cgroup v1 %s hierarchy not writable (%s)" % (name, home)
    return {"v": 1, "base": {n: os.path.join(h, BASE_NAME) for n, h in homes.items()}, "home": homes}


def here(root: bool) -> dict[str, Any] | str:
    """``locate`` for this process."""
    return locate(read("/proc/self/mounts") or "", read("/proc/self/cgroup") or "", root)


def mode(plan: dict[str, Any] | str, subreaper: bool) -> str:
    """The containment mode jobs get ("cgroup", "subreaper" or "process group"; the README's contract table
    says what each gives) from ``locate``'s answer and whether the shepherd may be a subreaper."""
    if not isinstance(plan, str):
        return "cgroup"
    return "subreaper" if subreaper else "process group"


def describe(plan: dict[str, Any] | str, subreaper: bool = False) -> str:
    """What ``drmaa2 config`` shows: "cgroup v1 (memory, cpuacct; cpu for --cpus) under DIR" (the hierarchies a
    task joins), or "subreaper (why no cgroup)" or "process group (why no cgroup)"."""
    if isinstance(plan, str):
        return "%s (%s)" % (mode(plan, subreaper), plan)
    base = plan["base"]
    names = ", ".join(n for n in needed(plan, None)["base"] if n) or ", ".join(V2_CONTROLLERS)
    if plan["v"] == 1 and "cpu" in base:
        names += "; cpu for --cpus"
    return "cgroup v%d (%s) under %s" % (plan["v"], names, base.get("memory") or base.get(""))


def prepare(plan: dict[str, Any]) -> None:
    """Create the base cgroups (v2: and let the controllers reach the jobs below). Raises OSError."""
    for base in plan["base"].values():
        os.makedirs(base, exist_ok=True)
    if plan["v"] == 2:
        base = plan["base"][""]
        wanted = " ".join("+" + name for name in V2_CONTROLLERS)
        parent = os.path.dirname(base)
        for where in (parent, base):
            have = set((read(os.path.join(where, "cgroup.subtree_control")) or "").split())
            if not set(V2_CONTROLLERS) <= have:
                write(os.path.join(where, "cgroup.subtree_control"), wanted)


def dirs(plan: dict[str, Any], name: str) -> list[str]:
    """The job's cgroup directories, one per hierarchy (cpu and cpuacct may share one)."""
    out: list[str] = []
    for base in plan["base"].values():
        path = os.path.join(base, name)
        if path not in out:
            out.append(path)
    return out


def needed(plan: dict[str, Any], cpus: float | None) -> dict[str, Any]:
    """The plan a task's cgroup is made from: only the hierarchies that carry a figure or a limit (v1: memory
    and cpuacct for the figures, memory for ``--memory`` too, cpu only for ``--cpus``)."""
    if plan["v"] != 1:
        return plan
    names = ("memory", "cpuacct", "cpu") if cpus is not None else ("memory", "cpuacct")
    return {**plan, "base": {n: plan["base"][n] for n in names if n in plan["base"]},
            "home": {n: plan["home"][n] for n in names if n in plan["home"]}}


def controller_dir(plan: dict[str, Any], name: str, controller: str) -> str | None:
    base = plan["base"].get("" if plan["v"] == 2 else controller)
    return None if base is None else os.path.join(base, name)


def create(plan: dict[str, Any], name: str, memory: int | None, cpus: float | None) -> list[str]:
    """Make the job's cgroup with its limits (``memory`` in bytes, no swap beyond it; ``cpus`` as a CFS quota).
    Raises OSError; what was made is then removed."""
    made = dirs(plan, name)
    try:
        for path in made:
            try:
                os.mkdir(path)
            except FileExistsError:  # left by a shepherd that was killed (its pid is this one's now)
                remove([path])  # only an empty one goes
                os.mkdir(path)
        mem = controller_dir(plan, name, "memory")
        cpu = controller_dir(plan, name, "cpu")
        if plan["v"] == 1:
            if memory is not None and mem is not None:
                write(os.path.join(mem, "memory.limit_in_bytes"), str(memory))
                if os.path.exists(os.path.join(mem, "memory.memsw.limit_in_bytes")):
                    write(os.path.join(mem, "memory.memsw.limit_in_bytes"), str(memory))
            if cpus is not None and cpu is not None:
                write(os.path.join(cpu, "cpu.cfs_period_us"), str(CPU_PERIOD_US))
                write(os.path.join(cpu, "cpu.cfs_quota_us"), str(max(1000, int(cpus * CPU_PERIOD_US))))
        else:
            if memory is not None and mem is not None:
                write(os.path.join(mem, "memory.max"), str(memory))
                if os.path.exists(os.path.join(mem, "memory.swap.max")):
                    write(os.path.join(mem, "memory.swap.max"), "0")
            if cpus is not None and cpu is not None:
                quota = max(1000, int(cpus * CPU_PERIOD_US))
                write(os.path.join(cpu, "cpu.max"), "%d %d" % (quota, CPU_PERIOD_US))
    except OSError:
        remove(made)
        raise
    return made


def join(paths: list[str], pid: int) -> None:
    """Move process ``pid`` into each of ``paths`` (cgroup directories)."""
    for path in paths:
        write(os.path.join(path, "cgroup.procs"), str(pid))


def members(paths: list[str]) -> list[int]:
    """The processes in the job's cgroup (every hierarchy holds the same ones)."""
    text = read(os.path.join(paths[0], "cgroup.procs")) if paths else None
    return [int(p) for p in (text or "").split()]


def signal_all(paths: list[str], sig: int) -> bool:
    """Send ``sig`` to every process of the job, wherever it moved in the process tree; False when the cgroup
    holds none (or is gone), so that the caller signals the process group instead."""
    pids = members(paths)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    return bool(pids)


def kill_all(plan: dict[str, Any], paths: list[str], patience: float = 5.0) -> bool:
    """SIGKILL everything left in the job's cgroup and wait (up to ``patience`` s) until it is empty. v1 freezes
    the cgroup first where it is in a freezer hierarchy, so that nothing forks between the listing and the kill;
    without one, each round kills what the last round's listing missed. Whether it is empty now."""
    import time

    if not members(paths):
        return True  # the common case, at the cost of one read
    kill_file = os.path.join(paths[0], "cgroup.kill") if paths else ""
    freezer = [p for p in paths if os.path.exists(os.path.join(p, "freezer.state"))]
    deadline = time.monotonic() + patience
    while members(paths) and time.monotonic() < deadline:
        if plan["v"] == 2 and os.path.exists(kill_file):
            try:
                write(kill_file, "1")
            except OSError:
                signal_all(paths, 9)
        elif freezer:
            state = os.path.join(freezer[0], "freezer.state")
            try:
                write(state, "FROZEN")
                end = time.monotonic() + 1.0
                while (read(state) or "").strip() != "FROZEN" and time.monotonic() < end:
                    time.sleep(0.005)
            except OSError:
                pass
            signal_all(paths, 9)
            try:
                write(state, "THAWED")  # a SIGKILLed task dies only once it runs again
            except OSError:
                pass
        else:
            signal_all(paths, 9)
        time.sleep(0.01)
    return not members(paths)


def first_int(text: str | None, key: str | None = None) -> int | None:
    """The number in ``text``, or the one after ``key`` on one of its lines ("oom_kill 1")."""
    if text is None:
        return None
    try:
        if key is None:
            return int(text.split()[0])
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
    except (ValueError, IndexError):
        pass
    return None


def usage(plan: dict[str, Any], name: str) -> tuple[float | None, int | None, bool]:
    """(CPU seconds, peak memory in KiB, whether the OOM killer struck) of the job's cgroup; None where the
    kernel does not say (v2 before memory.peak, Linux 5.19)."""
    cpu, peak, ooms = counts(plan, name)
    return cpu, peak, bool(ooms)


def counts(plan: dict[str, Any], name: str) -> tuple[float | None, int | None, int | None]:
    """``usage`` with the count of OOM kills in the cgroup since it was made."""
    mem = controller_dir(plan, name, "memory")
    if plan["v"] == 1:
        acct = controller_dir(plan, name, "cpuacct")
        ns = first_int(read(os.path.join(acct, "cpuacct.usage"))) if acct else None
        cpu = None if ns is None else ns / 1e9
        peak = first_int(read(os.path.join(mem, "memory.max_usage_in_bytes"))) if mem else None
        ooms = first_int(read(os.path.join(mem, "memory.oom_control")), "oom_kill") if mem else None
    else:
        stat = controller_dir(plan, name, "cpu")
        us = first_int(read(os.path.join(stat, "cpu.stat")), "usage_usec") if stat else None
        cpu = None if us is None else us / 1e6
        peak = first_int(read(os.path.join(mem, "memory.peak"))) if mem else None
        ooms = first_int(read(os.path.join(mem, "memory.events")), "oom_kill") if mem else None
    return cpu, None if peak is None else peak // 1024, ooms


#: Memory an emptied cgroup may keep charged (page cache of its last task) without being given back before its
#: next task: ``memory.force_empty`` costs more than a spawn, and the next peak is taken net of what is left.
KEEP_CHARGED = 1 << 20


def recycle(plan: dict[str, Any], name: str) -> int | None:
    """Make the emptied cgroup of an ended task ready for the next one (v1 only): its CPU time and peak reset,
    its page cache given back when there is much of it. The memory still charged (bytes), which the next peak is
    taken net of; None when it cannot be reused (v2, a reset refused): the caller removes it."""
    mem, acct = controller_dir(plan, name, "memory"), controller_dir(plan, name, "cpuacct")
    if plan["v"] != 1 or mem is None or acct is None:
        return None
    peak = os.path.join(mem, "memory.max_usage_in_bytes")
    try:
        write(os.path.join(acct, "cpuacct.usage"), "0")
        write(peak, "0")  # down to what is charged now
        charged = first_int(read(peak))
        if charged is None or charged > KEEP_CHARGED:
            write(os.path.join(mem, "memory.force_empty"), "0")
            write(peak, "0")
            charged = first_int(read(peak))
    except OSError:
        return None
    return charged


def remove(paths: list[str]) -> None:
    for path in paths:
        try:
            os.rmdir(path)
        except OSError:
            pass

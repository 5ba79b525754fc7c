"""A docker job's CPU time and peak memory, kept by the kernel after its container is gone.

The engine forgets a container's figures when it stops (its stats are zero from then on) and removes its cgroup
with it. So a job's container gets a cgroup parent of its own, ``/drmaa2-docker/NAME`` (``HostConfig.CgroupParent``
with the engine's cgroupfs driver): the kernel charges CPU time and memory up the hierarchy as they are used, so
the parent holds the container's totals and its peak after the container's own cgroup was removed. The finaliser
reads them once the container stopped and removes the parent after the container.

Only where the host's cgroup files are the engine's (a local engine) and drmaa2 may remove what the engine made
there (root); the engine's systemd driver names slices instead, and is left alone. Elsewhere the figures are null.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from ..process import cgroup
from .engine import Engine

PARENT = "drmaa2-docker"


def parent_of(container: str) -> str:
    return f"/{PARENT}/{container}"


def usable(engine: Engine, cache: Path) -> bool:
    """Whether this engine's containers can be given a parent cgroup here: local, cgroupfs driver, root. The
    driver is asked once per engine address (``GET /info`` is slow) and remembered in ``cache``."""
    if not engine.local or os.geteuid() != 0:
        return False
    try:
        known: dict[str, Any] = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    driver = known.get(engine.address)
    if driver is None:
        driver = engine.cgroup_driver()
        with contextlib.suppress(OSError):
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}")
            tmp.write_text(json.dumps({**known, engine.address: driver}))
            tmp.replace(cache)
    return driver == "cgroupfs"


def _plan(parent: str) -> dict[str, Any] | None:
    """The parent's directories as a ``process.cgroup`` plan: v1 where its memory and cpuacct are mounted (the
    engine uses v1 on a hybrid host), else the unified hierarchy."""
    v2, v1 = cgroup.parse_mounts(cgroup.read("/proc/self/mounts") or "")
    if "memory" in v1 and "cpuacct" in v1:
        return {"v": 1, "base": {name: cgroup.under(v1[name], parent) for name in ("memory", "cpuacct")}}
    if v2 is not None:
        return {"v": 2, "base": {"": cgroup.under(v2, parent)}}
    return None


#: What an engine runs beside the container under its parent: Podman's conmon (its cgroupfs manager puts it in
#: ``PARENT/conmon``). Its CPU time is not the job's.
NOT_THE_JOB = ("conmon",)


def figures(parent: str) -> dict[str, Any]:
    """``cpu_time`` (s) and ``max_rss`` (KiB) of the container that ran under ``parent``; empty when unknown."""
    plan = _plan(parent)
    if plan is None or not os.path.isdir(next(iter(plan["base"].values()))):
        return {}
    cpu, peak, _ = cgroup.usage(plan, "")
    for name in NOT_THE_JOB:
        other, _, _ = cgroup.usage(plan, name)
        if cpu is not None and other is not None:
            cpu = max(0.0, cpu - other)
    return {k: v for k, v in (("cpu_time", cpu), ("max_rss", peak)) if v is not None}


def remove(parent: str, patience: float = 1.0) -> None:
    """Remove the parent, and what the engine left in it, in every hierarchy (once the container is gone). Podman's
    conmon outlives the container's removal by a moment: its cgroup is looked at again for up to ``patience`` s."""
    tops = [cgroup.under(cgroup.unescape(fields[1]), parent)
            for fields in (line.split() for line in (cgroup.read("/proc/self/mounts") or "").splitlines())
            if len(fields) > 2 and fields[2] in ("cgroup", "cgroup2")]
    deadline = time.monotonic() + patience
    while True:
        for top in tops:
            for where, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):  # the deepest first
                with contextlib.suppress(OSError):
                    os.rmdir(where)
        tops = [top for top in tops if os.path.isdir(top)]
        if not tops or time.monotonic() > deadline:
            return
        time.sleep(0.1)

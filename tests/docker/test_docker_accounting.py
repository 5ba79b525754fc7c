"""A docker job's CPU time and peak memory come from its container's cgroup parent, which goes with it."""

from __future__ import annotations

import os

from drmaa2cli.backends.docker import accounting
from drmaa2cli.models import JobState
from tests.docker.fixtures import Jobs
from tests.requires import unavailable


def parent_dirs(parent: str) -> list[str]:
    """Where the parent exists now, in any hierarchy."""
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] in ("cgroup", "cgroup2"):
                path = os.path.join(fields[1], parent.lstrip("/"))
                if os.path.isdir(path):
                    found.append(path)
    return found


def test_figures_come_from_the_cgroup_parent_which_is_removed_with_the_container(jobs: Jobs) -> None:
    job = jobs.run("sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=4 2>/dev/null")
    parent = job.backend_data.get("cgroup")
    if parent is None:
        unavailable("the engine's containers cannot get a cgroup parent here (remote, systemd driver or not root)")
    assert parent == accounting.parent_of(job.backend_data["container"])
    done = jobs.finish(job)
    assert done.state is JobState.DONE
    assert done.cpu_time is not None and done.cpu_time > 0
    assert done.max_rss is not None and done.max_rss >= 64 * 1024
    assert jobs.containers() == []
    assert parent_dirs(parent) == []

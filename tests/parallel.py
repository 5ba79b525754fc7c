"""The suite on several workers (pytest-xdist with ``--dist loadgroup``, as ``scripts/test`` runs it): which tests
must not run beside each other, and so share a group that one worker runs one test after the other.

Most tests have a drmaa2 home, a work directory and an engine instance id of their own and run anywhere. Three
kinds of tests do not:

- **Kubernetes**: a test stops the one test cluster and another restarts its API server during a ``wait``; no other
  Kubernetes test may run meanwhile.
- **Slurm**, and **Grid Engine with its DRMAA library** (one cell): a one-node cluster with two slots. Two tests
  that each hold a slot with a job and wait for a second job of their own to start would wait on each other
  until their deadlines; the schedulers' drivers also number their jobs from the same start in every worker.

At the full scale of the stress suite (``DRMAA2_STRESS=full``) its tests share a group too: each measures the
machine under its own load.

A test belongs to a group when it takes that engine's fixture (directly or through another fixture) or is
parametrised with the backend's name (the conformance suite's ``target``, the schedulers' shared tests). A test
that uses several engines (the benchmark's smoke run) joins the first group in ``ORDER``: xdist would make a
group of its own of two names, beside both.
"""

from __future__ import annotations

import os

import pytest

#: A name a test's fixtures or parameters may hold → its group.
ENGINES = {
    "kubernetes": "kubernetes",
    "gridengine": "gridengine", "libdrmaa": "gridengine",
    "slurm": "slurm",
}
ORDER = ("kubernetes", "gridengine", "slurm")


def names_of(item: pytest.Item) -> set[str]:
    """The fixtures a test takes and the string values of its parameters."""
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        names.update(v for v in callspec.params.values() if isinstance(v, str))
    return names


def group_of(item: pytest.Item) -> str | None:
    """The group ``item`` must run in, or None when it may run beside anything."""
    if item.nodeid.startswith("tests/stress/") and os.environ.get("DRMAA2_STRESS", "").lower() == "full":
        return "stress"
    found = {group for name in names_of(item) for engine, group in ENGINES.items()
             if name == engine or name.startswith(f"{engine}_")}
    return next((group for group in ORDER if group in found), None)


def mark_groups(items: list[pytest.Item]) -> None:
    for item in items:
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def check_grouped(config: pytest.Config, ids: list[str]) -> None:
    """The ids a worker collected, as ``--dist loadgroup`` schedules them: a grouped test's ends with ``@group``.
    A pytest and a pytest-xdist that do not agree on where a test's id lives leave them bare, and every group's
    tests would run side by side and fail at random: stop before any runs."""
    if config.getvalue("dist") != "loadgroup" or any("@" in i.rpartition("]")[2] for i in ids):
        return
    if any(f"[{engine}]" in i for i in ids for engine in ENGINES):
        raise pytest.UsageError("--dist loadgroup grouped no test: this pytest and pytest-xdist do not agree on "
                                "a test's id; install the versions pyproject.toml's [test] asks for")

"""The monitoring session's cases: `drmaa2 machines`, `queues` and `jobs` show the platform as it is."""

from __future__ import annotations

from typing import Any

from drmaa2cli.binding import CpuArchitecture, OperatingSystem

from .conftest import Target, case

OS_NAMES = {o.name.lower() for o in OperatingSystem}
ARCH_NAMES = {a.name.lower() for a in CpuArchitecture}


def listing(target: Target, command: str, *args: str) -> list[dict[str, Any]]:
    r = target(command, "--json", "--backend", target.backend, *args)
    assert r.code == 0, r.err
    found: list[dict[str, Any]] = r.json()[command]
    return found


@case("machines")
def test_machines_and_the_platform_s_jobs(target: Target) -> None:
    if target.refused("machines"):
        target.check_refusal("machines", target("machines", "--backend", target.backend))
        return
    machines = listing(target, "machines")
    assert machines, "no machine listed"
    for m in machines:
        assert isinstance(m["name"], str) and m["name"], m
        assert m["machine_os"] in OS_NAMES and m["machine_arch"] in ARCH_NAMES, m
        assert m["cores"] is None or m["cores"] > 0, m
        assert m["phys_memory"] is None or m["phys_memory"] > 0, m
    first = machines[0]["name"]
    assert [m["name"] for m in listing(target, "machines", first)] == [first]
    unknown = target("machines", "--json", "--backend", target.backend, "drmaa2-no-such-machine")
    assert unknown.code == 202 and unknown.err.count("\n") == 1, unknown
    assert "drmaa2-no-such-machine" in unknown.err, unknown

    job = target.submit("sleep", "120")
    target.until_state(job, "running")
    mine = [j for j in listing(target, "jobs") if j["drmaa2_id"] == job]
    assert len(mine) == 1 and mine[0]["state"] == "running", mine
    assert target("kill", job).code == 0
    target.wait(job)


@case("queues")
def test_queues(target: Target) -> None:
    if target.refused("queues"):
        target.check_refusal("queues", target("queues", "--backend", target.backend))
        return
    queues = listing(target, "queues")
    assert sum(q["default"] for q in queues) <= 1, queues
    for q in queues:
        assert isinstance(q["name"], str) and q["name"], q
        assert q["slots"] is None or 0 <= (q["used"] or 0) <= q["slots"], q
    if queues and not target.refused("machines"):
        hosts = {m["name"] for m in listing(target, "machines")}
        for q in queues:
            assert set(q["machines"]) <= hosts, (q, hosts)
    named = [q["name"] for q in listing(target, "queues", *[q["name"] for q in queues[:1]])]
    assert named == [q["name"] for q in queues[:1]]

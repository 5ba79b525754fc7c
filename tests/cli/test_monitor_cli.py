"""`drmaa2 machines`, `queues` and `jobs` as a person reads them (tables), and their refusals (one line)."""

from __future__ import annotations

import os

from tests.conftest import Cli


def test_machines_shows_this_machine(cli: Cli) -> None:
    r = cli("machines")
    assert r.code == 0, r.err
    header, *rows = r.out.splitlines()
    assert header.split()[:3] == ["MACHINE", "UP", "SOCKETS"]
    assert [row.split()[0] for row in rows] == [os.uname().nodename]
    assert f" {os.cpu_count()} " in rows[0]


def test_queues_of_processes_are_none(cli: Cli) -> None:
    r = cli("queues", "--json")
    assert r.code == 0 and r.json() == {"schema_version": 1, "queues": []}, r


def test_jobs_marks_drmaa2_s_own(cli: Cli) -> None:
    job = cli.submit("sleep", "30")
    cli.until_state(job, "running")
    r = cli("jobs")
    assert r.code == 0, r.err
    rows = [line.split() for line in r.out.splitlines()[1:]]
    assert [row[1] for row in rows] == [job] and rows[0][3] == "running", r.out
    assert cli("kill", job).code == 0


def test_refusals_are_one_line(cli: Cli) -> None:
    for args, code in ((["machines", "--backend", "nosuch"], 201), (["machines", "--backend", "cf"], 204)):
        r = cli(*args)
        assert r.code == code and r.out == "", r
        assert len(r.err.splitlines()) == 1 and r.err.startswith("drmaa2: "), r.err

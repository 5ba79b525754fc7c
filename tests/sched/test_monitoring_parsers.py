"""The monitoring parsers on saved real output (Slurm 22.05, Son of Grid Engine 8.1.9, captured on the test
machine with the commands in ``drmaa2cli/backends/sched/monitor_cmd.py``), and the OS/architecture words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from drmaa2cli.backends.sched import monitor_cmd as m
from drmaa2cli.monitoring import arch_name, kib, os_name, this_machine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_slurm_nodes() -> None:
    (node,) = m.parse_slurm_nodes(read("slurm/scontrol_show_node.txt"))
    assert (node.name, node.available, node.sockets, node.cores_per_socket, node.threads_per_core, node.cores) == (
        "vm", True, 2, 1, 1, 2)
    assert node.phys_memory == 1024 * 1024 and node.load is not None
    assert (node.machine_os, node.machine_arch) == ("linux", "x64")
    assert node.machine_os_version == "6.18.44-fc-v657"


def test_slurm_partitions_and_jobs() -> None:
    (part,) = m.parse_slurm_partitions(read("slurm/sinfo_partitions.txt"))
    assert (part.name, part.available, part.default, part.slots, part.used, part.machines) == (
        "debug", True, True, 2, 0, ["vm"])
    (job,) = m.parse_squeue(read("slurm/squeue_me.txt"))
    assert (job.name, job.state, job.owner, job.queue, job.machine) == ("listed", "queued", "root", "debug", None)


def test_grid_engine_hosts_queues_and_jobs() -> None:
    (host,) = m.parse_qhost_xml(read("gridengine/qhost.xml"))  # the pseudo-host "global" is left out
    assert (host.name, host.sockets, host.cores_per_socket, host.threads_per_core, host.cores) == (
        "vm", 1, 2, 1, 2)
    assert (host.machine_os, host.machine_arch) == ("linux", "x64")
    assert host.phys_memory == int(23.5 * 1024 * 1024)
    (queue,) = m.parse_cluster_queues(read("gridengine/qstat_g_c.txt"))
    assert (queue.name, queue.available, queue.default, queue.slots, queue.used) == ("all.q", True, True, 2, 0)
    jobs = m.parse_qstat_jobs(read("gridengine/qstat_u.xml"))
    assert [(j.name, j.state, j.owner) for j in jobs if j.name == "listed"] == [("listed", "queued_held", "root")]
    with pytest.raises(ET.ParseError):  # the backend turns it into BackendUnavailable
        m.parse_qhost_xml("error: commlib error")


@pytest.mark.parametrize(("text", "name"), [("Linux", "linux"), ("Linux 6.1.0 #1 SMP", "linux"), ("lx", "linux"),
                                            ("Darwin", "macos"), ("FreeBSD", "bsd"), ("Plan9", "other_os")])
def test_os_names(text: str, name: str) -> None:
    assert os_name(text) == name


@pytest.mark.parametrize(("text", "name"), [("x86_64", "x64"), ("amd64", "x64"), ("i686", "x86"),
                                            ("aarch64", "arm64"), ("armv7l", "arm"), ("ppc64le", "ppc64le"),
                                            ("ppc64", "ppc64"), ("riscv64", "other_cpu")])
def test_arch_names(text: str, name: str) -> None:
    assert arch_name(text) == name


def test_memory_sizes() -> None:
    assert (kib("1G"), kib("482.2M"), kib("2048"), kib("-")) == (1024 * 1024, int(482.2 * 1024), 2, None)


def test_this_machine_matches_the_kernel() -> None:
    import os

    me = this_machine()
    assert me.cores == os.cpu_count() and me.name == os.uname().nodename
    assert me.phys_memory and me.phys_memory * 1024 == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")

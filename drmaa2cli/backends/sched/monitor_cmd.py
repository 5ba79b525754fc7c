"""The monitoring commands of Slurm and Grid Engine: what to run, and pure parsers of their output (tested on
saved real output), for `drmaa2 machines`, `drmaa2 queues` and the platform's job list."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ...monitoring import MachineInfo, PlatformJob, QueueInfo, arch_name, kib, os_name

# --- Slurm ----------------------------------------------------------------------------------------------
SLURM_NODES = ["scontrol", "show", "node", "--oneliner"]
SLURM_PARTITIONS = ["sinfo", "--noheader", "--format", "%P|%a|%D|%C|%N"]
SLURM_JOBS = ["squeue", "--me", "--noheader", "--format", "%i|%j|%T|%u|%P|%N"]
_KEY = re.compile(r"(?:^|\s)([A-Za-z]+)=")
_SLURM_STATES = {
    "PENDING": "queued", "CONFIGURING": "queued", "RUNNING": "running", "COMPLETING": "running",
    "SUSPENDED": "suspended", "STOPPED": "suspended", "REQUEUED": "requeued", "REQUEUE_HOLD": "requeued_held",
    "COMPLETED": "done",
}


def _fields(line: str) -> dict[str, str]:
    """``scontrol --oneliner`` KEY=VALUE pairs; a value may hold spaces (OS=Linux 6.1.0 #1 SMP ...)."""
    keys = list(_KEY.finditer(line))
    return {m.group(1): line[m.end():(keys[i + 1].start() if i + 1 < len(keys) else len(line))].strip()
            for i, m in enumerate(keys)}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def parse_slurm_nodes(text: str) -> list[MachineInfo]:
    """``scontrol show node --oneliner``: one node a line."""
    out = []
    for line in text.splitlines():
        f = _fields(line)
        if "NodeName" not in f:
            continue
        state = f.get("State", "").upper()
        os_text = f.get("OS", "")
        try:
            load: float | None = float(f.get("CPULoad", ""))
        except ValueError:
            load = None
        memory = _int(f.get("RealMemory"))
        out.append(MachineInfo(
            name=f["NodeName"],
            available=not any(w in state for w in ("DOWN", "DRAIN", "FAIL", "NOT_RESPONDING", "UNKNOWN")),
            sockets=_int(f.get("Sockets")), cores_per_socket=_int(f.get("CoresPerSocket")),
            threads_per_core=_int(f.get("ThreadsPerCore")), cores=_int(f.get("CPUTot")), load=load,
            phys_memory=memory * 1024 if memory is not None else None,
            machine_os=os_name(os_text) if os_text else "other_os",
            machine_os_version=os_text.split(" ")[1] if len(os_text.split(" ")) > 1 else None,
            machine_arch=arch_name(f.get("Arch", "")),
        ))
    return out


def parse_slurm_partitions(text: str) -> list[QueueInfo]:
    """``sinfo --format '%P|%a|%D|%C|%N'``: partition (``*`` marks the default), availability, node count,
    CPUs allocated/idle/other/total, node list."""
    out = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 5:
            continue
        name, avail, _nodes, cpus, nodelist = parts
        counts = [_int(c) for c in cpus.split("/")]
        out.append(QueueInfo(
            name=name.rstrip("*"), available=avail == "up", default=name.endswith("*"),
            slots=counts[3] if len(counts) == 4 else None, used=counts[0] if len(counts) == 4 else None,
            machines=[n for n in nodelist.split(",") if n and n != "(null)"],
        ))
    return out


def parse_squeue(text: str) -> list[PlatformJob]:
    """``squeue --format '%i|%j|%T|%u|%P|%N'``."""
    out = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 6:
            continue
        native, name, state, user, partition, nodes = parts
        out.append(PlatformJob(native_id=native, name=name or None,
                               state=_SLURM_STATES.get(state.upper(), "failed" if state else "undetermined"),
                               owner=user or None, queue=partition or None, machine=nodes or None))
    return out


# --- Grid Engine ----------------------------------------------------------------------------------------
SGE_HOSTS = ["qhost", "-xml"]
SGE_QUEUES = ["qstat", "-g", "c"]
#: Every queue instance (QUEUE@HOST), the queues' hostlists with their host groups (@allhosts) resolved.
SGE_QUEUE_INSTANCES = ["qselect"]
SGE_DEFAULT_QUEUE = "all.q"


def sge_jobs_command(user: str) -> list[str]:
    return ["qstat", "-xml", "-u", user]


def parse_qhost_xml(text: str) -> list[MachineInfo]:
    """``qhost -xml``: every execution host (the pseudo-host "global" left out). Raises ValueError for
    output that is not XML."""
    out = []
    for host in ET.fromstring(text).iter("host"):
        name = host.get("name", "")
        if not name or name == "global":
            continue
        v = {h.get("name"): (h.text or "").strip() for h in host.iter("hostvalue")}
        sockets, cores, threads = _int(v.get("m_socket")), _int(v.get("m_core")), _int(v.get("m_thread"))
        try:
            load: float | None = float(v.get("load_avg", ""))
        except ValueError:
            load = None
        memory, swap = kib(v.get("mem_total", "")), kib(v.get("swap_total", ""))
        arch = v.get("arch_string", "")
        out.append(MachineInfo(
            name=name, available=load is not None,
            sockets=sockets, cores_per_socket=cores // sockets if cores and sockets else None,
            threads_per_core=threads // cores if threads and cores else None,
            cores=_int(v.get("num_proc")), load=load, phys_memory=memory,
            virt_memory=memory + (swap or 0) if memory is not None else None,
            machine_os=os_name(arch.split("-")[0]) if arch != "-" else "other_os",
            machine_arch=arch_name(arch.partition("-")[2]),
        ))
    return out


def parse_cluster_queues(text: str) -> list[QueueInfo]:
    """``qstat -g c``: CLUSTER QUEUE, CQLOAD, USED, RES, AVAIL, TOTAL, aoACDS, cdsuE."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8 or parts[0] == "CLUSTER" or set(parts[0]) == {"-"}:
            continue
        total, disabled = _int(parts[5]), _int(parts[7])
        out.append(QueueInfo(name=parts[0], available=not (total and disabled == total),
                             default=parts[0] == SGE_DEFAULT_QUEUE, slots=total, used=_int(parts[2])))
    return out


def parse_queue_instances(text: str) -> dict[str, list[str]]:
    """``qselect``: one QUEUE@HOST per line -> each queue's hosts, in the order given."""
    hosts: dict[str, list[str]] = {}
    for line in text.splitlines():
        queue, at, host = line.strip().partition("@")
        if at and queue and host and host not in hosts.setdefault(queue, []):
            hosts[queue].append(host)
    return hosts


def parse_qstat_jobs(text: str) -> list[PlatformJob]:
    """``qstat -xml -u USER``: one entry per job (an array's pending tasks as one)."""
    out = []
    for item in ET.fromstring(text).iter("job_list"):
        number = item.findtext("JB_job_number", "").strip()
        if not number:
            continue
        state = item.findtext("state", "").strip()
        queue = item.findtext("queue_name", "") or ""
        tasks = (item.findtext("tasks") or "").strip()
        out.append(PlatformJob(
            native_id=f"{number}.{tasks}" if tasks.isdigit() else number,
            name=item.findtext("JB_name"), state=_sge_state(state), owner=item.findtext("JB_owner"),
            queue=queue.partition("@")[0] or None, machine=queue.partition("@")[2] or None,
        ))
    return out


def _sge_state(code: str) -> str:
    if "E" in code:
        return "failed"
    if "h" in code:
        return "queued_held"
    if "s" in code.lower():
        return "suspended"
    if "r" in code or "t" in code:
        return "running"
    return "queued"

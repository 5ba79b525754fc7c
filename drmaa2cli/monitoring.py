"""What a monitoring session shows (DRMAA2 MachineInfo and QueueInfo), and the words they use.

Backends fill these from their platform (``Backend.machines``/``queues``); the CLI prints them (`drmaa2
machines`, `drmaa2 queues`) and the ``drmaa2`` binding hands them out as its own structures. Operating
systems and CPU architectures are the DRMAA2 enumerations' names in lower case ("linux", "x64"), so that a
machine reads the same whichever platform described it. Memory is in KiB, as in DRMAA2.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class MachineInfo:
    """One execution host (DRMAA2 MachineInfo, plus ``cores``: the logical CPUs it offers jobs)."""

    name: str
    available: bool = True
    sockets: int | None = None
    cores_per_socket: int | None = None
    threads_per_core: int | None = None
    cores: int | None = None
    load: float | None = None
    phys_memory: int | None = None  # KiB
    virt_memory: int | None = None  # KiB
    machine_os: str = "other_os"
    machine_os_version: str | None = None
    machine_arch: str = "other_cpu"

    def to_public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QueueInfo:
    """One place jobs are submitted to (DRMAA2 QueueInfo: a partition, a cluster queue, a CF space).

    ``slots`` is how many jobs' worth of CPUs it has, ``used`` how many are taken, ``machines`` its hosts."""

    name: str
    available: bool = True
    default: bool = False
    slots: int | None = None
    used: int | None = None
    machines: list[str] = field(default_factory=list)

    def to_public(self) -> dict[str, Any]:
        return asdict(self)


def os_name(system: str) -> str:
    """The DRMAA2 OperatingSystem name (lower case) of ``platform.system()``-like text ("Linux 6.1 ..." too)."""
    word = system.strip().split(" ", 1)[0].lower() if system.strip() else ""
    if word.startswith("lx") or word == "linux":
        return "linux"
    return {
        "darwin": "macos", "macos": "macos", "freebsd": "bsd", "openbsd": "bsd", "netbsd": "bsd", "aix": "aix",
        "sunos": "sunos", "solaris": "sunos", "hp-ux": "hpux", "irix": "irix", "windows": "win",
    }.get(word, "other_os")


_ARCH = [
    (re.compile(r"x86_64|amd64|x64"), "x64"), (re.compile(r"i[3-6]86|x86\Z|\bx86"), "x86"),
    (re.compile(r"aarch64|arm64"), "arm64"), (re.compile(r"arm"), "arm"), (re.compile(r"ppc64le"), "ppc64le"),
    (re.compile(r"ppc64"), "ppc64"), (re.compile(r"ppc|powerpc"), "ppc"), (re.compile(r"ia64"), "ia64"),
    (re.compile(r"sparc64"), "sparc64"), (re.compile(r"sparc"), "sparc"), (re.compile(r"mips64"), "mips64"),
    (re.compile(r"mips"), "mips"), (re.compile(r"alpha"), "alpha"),
]


def arch_name(machine: str) -> str:
    """The DRMAA2 CpuArchitecture name (lower case) of ``uname -m``-like text ("x86_64", "lx-amd64")."""
    low = machine.lower()
    return next((name for pattern, name in _ARCH if pattern.search(low)), "other_cpu")


def kib(text: str) -> int | None:
    """``"23.5G"``, ``"482.2M"``, ``"1024"`` (bytes) as KiB; None for "-" and the like."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGTP]?)i?B?\s*", text, re.IGNORECASE)
    if m is None:
        return None
    power = " KMGTP".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * 1024**power / 1024)


def this_machine() -> MachineInfo:
    """The machine this program runs on, as psutil and the kernel describe it."""
    # Loaded here: a monitoring call pays them, not every submit of a backend that imports this module.
    import platform
    import socket

    import psutil  # ~10 ms

    logical = psutil.cpu_count(logical=True) or os.cpu_count()
    physical = psutil.cpu_count(logical=False) or logical
    sockets = _sockets()
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    return MachineInfo(
        name=socket.gethostname(),
        sockets=sockets,
        cores_per_socket=physical // sockets if physical and sockets else None,
        threads_per_core=logical // physical if logical and physical else None,
        cores=logical,
        load=round(os.getloadavg()[0], 2),
        phys_memory=memory.total // 1024,
        virt_memory=(memory.total + swap.total) // 1024,
        machine_os=os_name(platform.system()),
        machine_os_version=platform.release(),
        machine_arch=arch_name(platform.machine()),
    )


def _sockets() -> int:
    """Distinct physical packages in /proc/cpuinfo (psutil does not count sockets); 1 where it cannot tell."""
    try:
        with open("/proc/cpuinfo") as f:
            ids = {line.split(":", 1)[1].strip() for line in f if line.startswith("physical id")}
    except OSError:
        return 1
    return len(ids) or 1


@dataclass
class PlatformJob:
    """A job the platform shows this user, whoever submitted it (``drmaa2_id`` set when drmaa2 did)."""

    native_id: str
    name: str | None = None
    state: str = "undetermined"  # a JobState value
    owner: str | None = None
    queue: str | None = None
    machine: str | None = None
    drmaa2_id: str | None = None

    def to_public(self) -> dict[str, Any]:
        return asdict(self)

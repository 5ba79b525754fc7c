"""The binding's constants, enumerations and structures, with the names and values of the OGF DRMAA2 Python
language binding (``drmaa2/__init__.py`` of OpenGridForum/drmaa2-python).

The structures are dataclasses rather than the reference's namedtuples, with the same fields in the same order
(so ``JobTemplate(remote_command="sleep", args=["2"])`` and positional use work alike), every field defaulting
to None, and a few implementation-specific fields after the standard ones (the reference's ``*_impl_spec``).
Absolute times are ``datetime`` (UTC), time amounts seconds, memory KiB.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

# Implementation-independent constants
HOME_DIR = "$DRMAA2_HOME_DIR$"
WORKING_DIR = "$DRMAA2_WORKING_DIR$"
PARAMETRIC_INDEX = "$DRMAA2_INDEX$"
INFINITE_TIME = -1
ZERO_TIME = 0

# Implementation-dependent constants: the keys of JobTemplate.resource_limits. drmaa2 honours WALLCLOCK_TIME
# (seconds; the job is ended as `--timeout` ends it) and VIRTUAL_MEMORY (KiB; `--memory`) where the backend has
# limits; the others are refused as unsupported attributes.
CORE_FILE_SIZE = "core_file_size"
CPU_TIME = "cpu_time"
DATA_SIZE = "data_size"
FILE_SIZE = "file_size"
OPEN_FILES = "open_files"
STACK_SIZE = "stack_size"
VIRTUAL_MEMORY = "virtual_memory"
WALLCLOCK_TIME = "wallclock_time"

Version = namedtuple("Version", ["major", "minor"])
SlotInfo = namedtuple("SlotInfo", ["machine_name", "slots"])


class JobState(Enum):
    UNDETERMINED = 0
    QUEUED = 1
    QUEUED_HELD = 2
    RUNNING = 3
    SUSPENDED = 4
    REQUEUED = 5
    REQUEUED_HELD = 6
    DONE = 7
    FAILED = 8


class OperatingSystem(Enum):
    OTHER_OS = 0
    AIX = 1
    BSD = 2
    LINUX = 3
    HPUX = 4
    IRIX = 5
    MACOS = 6
    SUNOS = 7
    TRU64 = 8
    UNIXWARE = 9
    WIN = 10
    WINNT = 11


class CpuArchitecture(Enum):
    OTHER_CPU = 0
    ALPHA = 1
    ARM = 2
    ARM64 = 3
    CELL = 4
    PARISC = 5
    PARISC64 = 6
    X86 = 7
    X64 = 8
    IA64 = 9
    MIPS = 10
    MIPS64 = 11
    PPC = 12
    PPC64 = 13
    PPC64LE = 16
    SPARC = 14
    SPARC64 = 15


class Event(Enum):
    NEW_STATE = 0
    MIGRATED = 1
    ATTRIBUTE_CHANGE = 2


class Capability(Enum):
    ADVANCE_RESERVATION = 0
    RESERVE_SLOTS = 1
    CALLBACK = 2
    BULK_JOBS_MAXPARALLEL = 3
    JT_EMAIL = 4
    JT_STAGING = 5
    JT_DEADLINE = 6
    JT_MAXSLOTS = 7
    JT_ACCOUNTINGID = 8
    RT_STARTNOW = 9
    RT_DURATION = 10
    RT_MACHINEOS = 11
    RT_MACHINEARCH = 12


class _Struct:
    """What the reference's namedtuples offer besides attributes: ``_asdict`` and ``_replace``."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.field_names()}

    def _replace(self, **changes: Any) -> Any:
        return replace(self, **changes)  # type: ignore[type-var]


@dataclass
class JobTemplate(_Struct):
    remote_command: str | None = None
    args: list[str] | None = None
    submit_as_hold: bool | None = None
    rerunnable: bool | None = None
    job_environment: dict[str, str] | None = None
    working_directory: str | None = None
    job_category: str | None = None  # the image (docker), the app (cf)
    email: list[str] | None = None
    email_on_started: bool | None = None
    email_on_terminated: bool | None = None
    job_name: str | None = None
    input_path: str | None = None
    output_path: str | None = None
    error_path: str | None = None
    join_files: bool | None = None
    reservation_id: str | None = None
    queue_name: str | None = None
    min_slots: int | None = None
    max_slots: int | None = None
    priority: int | None = None
    candidate_machines: list[str] | None = None
    min_phys_memory: int | None = None
    machine_os: OperatingSystem | None = None
    machine_arch: CpuArchitecture | None = None
    start_time: datetime | None = None
    deadline_time: datetime | None = None
    stage_in_files: dict[str, str] | None = None
    stage_out_files: dict[str, str] | None = None
    resource_limits: dict[str, Any] | None = None
    accounting_id: str | None = None
    # Implementation-specific: backend settings (docker "user", "pull"; the schedulers' "native" options).
    extension: dict[str, Any] | None = None


@dataclass
class JobInfo(_Struct):
    job_id: str | None = None
    job_name: str | None = None
    exit_status: int | None = None
    terminating_signal: int | None = None
    annotation: str | None = None
    job_state: JobState | None = None
    job_sub_state: str | None = None
    allocated_machines: list[str] | None = None
    submission_machine: str | None = None
    job_owner: str | None = None
    slots: int | None = None
    queue_name: str | None = None
    wallclock_time: timedelta | None = None
    cpu_time: timedelta | None = None
    submission_time: datetime | None = None
    dispatch_time: datetime | None = None
    finish_time: datetime | None = None
    # Implementation-specific: the job's session and backend, and its id on the platform; once the job ended,
    # the shell exit code it stands for (exit status, 128+signal, 207) and whose it is ("job" or "drmaa2").
    session_name: str | None = None
    backend: str | None = None
    native_id: str | None = None
    exit_code: int | None = None
    exit_code_from: str | None = None


@dataclass
class QueueInfo(_Struct):
    name: str | None = None
    # Implementation-specific (see drmaa2cli.monitoring.QueueInfo).
    available: bool | None = None
    default: bool | None = None
    slots: int | None = None
    used: int | None = None
    machines: list[str] | None = None


@dataclass
class MachineInfo(_Struct):
    name: str | None = None
    available: bool | None = None
    sockets: int | None = None
    cores_per_socket: int | None = None
    threads_per_core: int | None = None
    load: float | None = None
    phys_memory: int | None = None
    virt_memory: int | None = None
    machine_os: OperatingSystem | None = None
    machine_os_version: str | None = None
    machine_arch: CpuArchitecture | None = None
    # Implementation-specific: the logical CPUs the machine offers jobs.
    cores: int | None = None


@dataclass
class ReservationTemplate(_Struct):
    reservation_name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: timedelta | None = None
    min_slots: int | None = None
    max_slots: int | None = None
    job_category: str | None = None
    users_acl: list[str] | None = None
    candidate_machines: list[str] | None = None
    min_phys_memory: int | None = None
    machine_os: OperatingSystem | None = None
    machine_arch: CpuArchitecture | None = None


@dataclass
class ReservationInfo(_Struct):
    reservation_id: str | None = None
    reservation_name: str | None = None
    reserved_start_time: datetime | None = None
    reserved_end_time: datetime | None = None
    users_acl: list[str] | None = None
    reserved_slots: int | None = None
    reserved_machines: list[SlotInfo] | None = None


@dataclass
class Notification(_Struct):
    event: Event | None = None
    job_id: str | None = None
    session_name: str | None = None
    job_state: JobState | None = None

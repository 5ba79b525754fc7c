"""drmaa2: the OGF DRMAA2 Python language binding, over drmaa2's backends (process, docker, cf, slurm,
gridengine).

    import drmaa2
    session = drmaa2.create_job_session("example", contact="process")
    job = session.run_job(drmaa2.JobTemplate(remote_command="sleep", args=["2"], job_name="job1"))
    job.wait_terminated(drmaa2.INFINITE_TIME)

Names, constants and structures are those of the reference binding (OpenGridForum/drmaa2-python); see
docs/binding.md for the contact strings, what each backend supports and how errors map onto exit codes.
This package is installed from ``drmaa2cli/binding`` (pyproject's package-dir); importing it loads neither
the CLI nor any backend: a backend is loaded by the first call that uses it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .exceptions import (
    DeniedByDrmsException,
    DrmaaException,
    DrmCommunicationException,
    ImplementationSpecificException,
    InternalException,
    InvalidArgumentException,
    InvalidSessionException,
    InvalidStateException,
    OutOfResourceException,
    TimeoutException,
    TryLaterException,
    UnsupportedAttributeException,
    UnsupportedOperationException,
    translated,
)
from .structs import (
    CORE_FILE_SIZE,
    CPU_TIME,
    DATA_SIZE,
    FILE_SIZE,
    HOME_DIR,
    INFINITE_TIME,
    OPEN_FILES,
    PARAMETRIC_INDEX,
    STACK_SIZE,
    VIRTUAL_MEMORY,
    WALLCLOCK_TIME,
    WORKING_DIR,
    ZERO_TIME,
    Capability,
    CpuArchitecture,
    Event,
    JobInfo,
    JobState,
    JobTemplate,
    MachineInfo,
    Notification,
    OperatingSystem,
    QueueInfo,
    ReservationInfo,
    ReservationTemplate,
    SlotInfo,
    Version,
)

if TYPE_CHECKING:
    from .sessions import Job, JobArray, JobSession, MonitoringSession

drms_name = "drmaa2 (process, docker, cf, slurm, gridengine)"
drms_version = Version(0, 1)
drmaa_name = "drmaa2 Python binding"
drmaa_version = Version(2, 0)

#: The capabilities drmaa2 has on every backend; the rest depend on the backend (``supports``).
_EVERYWHERE = frozenset({Capability.BULK_JOBS_MAXPARALLEL})
#: Capability -> the drmaa2 template fields a backend must honour for it (a deadline is kept as the run-time
#: limit it leaves, so it needs the timeout).
_BY_FIELD = {Capability.JT_STAGING: ("stage_in_files", "stage_out_files"),
             Capability.JT_ACCOUNTINGID: ("accounting_id",),
             Capability.JT_DEADLINE: ("timeout",)}


@translated
def supports(capability: Capability, contact: str | None = None) -> bool:
    """Whether drmaa2 supports the optional feature ``capability`` on the backend ``contact`` selects (an
    implementation-specific second argument; default: the configured backend)."""
    if not isinstance(capability, Capability):
        from drmaa2cli.errors import InvalidArgument

        raise InvalidArgument(f"not a Capability: {capability!r}")
    if capability in _EVERYWHERE:
        return True
    needed = _BY_FIELD.get(capability)
    if needed is None:
        return False
    from drmaa2cli import config
    from drmaa2cli.backends import backend_class

    from .convert import backend_of

    backend, environ = backend_of(contact, os.environ)
    name = backend or config.resolve(environ=environ or None).backend
    refused = backend_class(name).refused_fields()
    return not any(field in refused for field in needed)


@translated
def create_job_session(session_name: str | None = None, contact: str | None = None) -> JobSession:
    """Create and open a new job session (a generated name when None) on the backend ``contact`` names."""
    from .sessions import JobSession

    if session_name is None:
        import uuid

        session_name = f"drmaa2-{uuid.uuid4().hex[:12]}"
    session = JobSession(session_name, contact)
    session.service.create_session(session_name, contact)
    return session


@translated
def open_job_session(session_name: str) -> JobSession:
    """Open an existing job session, on the backend it was created with."""
    from drmaa2cli import config
    from drmaa2cli.errors import SessionNotFound
    from drmaa2cli.store import Store

    from .sessions import JobSession

    store = Store(config.home_dir()).snapshot()
    if session_name not in store.session_names():
        raise SessionNotFound(f"unknown session {session_name}")
    return JobSession(session_name, store.session_contact(session_name))


@translated
def destroy_session(session_name: str) -> None:
    """Remove a session with its job records; refused (InvalidStateException) while it has active jobs."""
    from .sessions import service_for

    service_for(session_name, None)[0].destroy_session(session_name)


@translated
def get_job_session_names() -> list[str]:
    from drmaa2cli import config
    from drmaa2cli.store import Store

    return Store(config.home_dir()).snapshot().session_names()


@translated
def open_monitoring_session(contact: str | None = None) -> MonitoringSession:
    """The platform of the backend ``contact`` names (default: the configured one)."""
    from .sessions import MonitoringSession

    return MonitoringSession(contact)


@translated
def _unsupported(*_: Any) -> Any:
    from drmaa2cli.errors import UnsupportedOperation

    raise UnsupportedOperation("drmaa2 has no advance reservations or event notifications")


create_reservation_session = open_reservation_session = get_reservation_session_names = _unsupported
register_event_notification = describe_attribute = _unsupported


def __getattr__(name: str) -> Any:
    """The session classes, loaded (with drmaa2's store) only when first named."""
    if name in ("Job", "JobArray", "JobSession", "MonitoringSession"):
        from . import sessions

        return getattr(sessions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CORE_FILE_SIZE", "CPU_TIME", "DATA_SIZE", "FILE_SIZE", "HOME_DIR", "INFINITE_TIME", "OPEN_FILES",
    "PARAMETRIC_INDEX", "STACK_SIZE", "VIRTUAL_MEMORY", "WALLCLOCK_TIME", "WORKING_DIR", "ZERO_TIME",
    "Capability", "CpuArchitecture", "DeniedByDrmsException", "DrmCommunicationException", "DrmaaException",
    "Event", "ImplementationSpecificException", "InternalException", "InvalidArgumentException",
    "InvalidSessionException", "InvalidStateException", "Job", "JobArray", "JobInfo", "JobSession", "JobState",
    "JobTemplate", "MachineInfo", "MonitoringSession", "Notification", "OperatingSystem", "OutOfResourceException",
    "QueueInfo", "ReservationInfo", "ReservationTemplate", "SlotInfo", "TimeoutException", "TryLaterException",
    "UnsupportedAttributeException", "UnsupportedOperationException", "Version", "create_job_session",
    "create_reservation_session", "describe_attribute", "destroy_session", "drmaa_name", "drmaa_version",
    "drms_name", "drms_version", "get_job_session_names", "get_reservation_session_names",
    "open_job_session", "open_monitoring_session", "open_reservation_session", "register_event_notification",
    "supports",
]

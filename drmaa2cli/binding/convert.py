"""Between the binding's structures and drmaa2's own: job templates (refusing what drmaa2 cannot honour), job
infos, machines and queues; and the contact string that names a backend."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard
from urllib.parse import urlparse

from drmaa2cli import models, monitoring
from drmaa2cli.backends import REGISTRY
from drmaa2cli.core.validate import shown
from drmaa2cli.errors import ExitStatus, InvalidArgument, UnsupportedAttribute

from . import structs

#: Every backend name is a contact (the registry only names them: nothing is loaded here).
BACKENDS = tuple(REGISTRY)
#: Schemes of a Docker engine address given as the contact (what DOCKER_HOST takes).
DOCKER_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")
#: The prefix of a `drmaa2 serve` server's address given as the contact (``drmaa2+https://host:8765``,
#: ``drmaa2+unix:/path``): a plain ``http(s)://`` is a Docker engine's, as DOCKER_HOST has it.
SERVER = "drmaa2+"


def server_of(contact: str | None) -> str | None:
    """The `drmaa2 serve` server a contact names (``drmaa2+URL``: the URL), else None."""
    if not isinstance(contact, str) or not contact.startswith(SERVER):
        return None
    url = contact.removeprefix(SERVER)
    if not url.startswith(("http://", "https://", "unix:")) or urlparse(url).password is not None:
        raise InvalidArgument(f"contact {contact!r}: a drmaa2 server is drmaa2+http://HOST:PORT, drmaa2+https://… "
                              "or drmaa2+unix:PATH, with no password (the token is DRMAA2_REMOTE_TOKEN)")
    return url


def backend_of(contact: str | None, environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """The backend a contact names (None: the configured default) and the environment it adds.

    ``None`` or ``""``: drmaa2's default backend ($DRMAA2_BACKEND, the config file, else process);
    a backend name (``process``, ``docker``, ``podman``, ``cf``, ``slurm``, ``gridengine``, ``libdrmaa``,
    ``kubernetes``);
    or a Docker engine address (``unix:///var/run/docker.sock``, ``tcp://host:2375``, ``ssh://user@host``),
    which selects the docker backend with that engine as DOCKER_HOST; or a `drmaa2 serve` server's address
    after ``drmaa2+`` (``server_of``), which selects the remote backend. Raises InvalidArgument for anything
    else."""
    if not contact:
        return None, {}
    if not isinstance(contact, str):
        raise InvalidArgument(f"a contact is a string, not {shown(contact)}")
    if contact in BACKENDS:
        return contact, {}
    if server_of(contact):
        return "remote", {}
    url = urlparse(contact)
    if url.scheme in DOCKER_SCHEMES:
        if url.password is not None:
            # The contact is kept with the session in the store, where no credential may go.
            raise InvalidArgument("a contact must not carry a password (drmaa2 keeps it with the session): "
                                  "use an ssh key or the engine's TLS settings")
        return "docker", {**environ, "DOCKER_HOST": contact}
    raise InvalidArgument(
        f"unknown contact {contact!r} (a backend: {', '.join(BACKENDS)}; a Docker engine address such as "
        "unix:///var/run/docker.sock or tcp://host:2375; or a drmaa2 server as drmaa2+http://HOST:PORT)"
    )


def _refuse(name: str, backend: str) -> UnsupportedAttribute:
    return UnsupportedAttribute(f"the {backend} backend cannot honour {name.replace('_', ' ')}")


#: Template fields drmaa2 has no way to honour on any backend (refused whenever they ask for something).
NEVER = ("rerunnable", "email", "email_on_started", "email_on_terminated", "reservation_id",
         "machine_os", "machine_arch")


def template_in(jt: structs.JobTemplate, backend: str) -> models.JobTemplate:
    """drmaa2's template for ``jt``, its values converted where the binding's types differ from drmaa2's (times,
    resource limits, slots); the rest is checked by the core (``core.validate``) as for every other entry.
    Raises UnsupportedAttribute naming the first field drmaa2 cannot honour, InvalidArgument for a malformed
    one: never a bare Python error, whatever a field holds."""
    if not isinstance(jt, structs.JobTemplate):
        raise InvalidArgument(f"a JobTemplate is needed, not {shown(jt)}")
    for name in NEVER:
        if getattr(jt, name):
            raise _refuse(name, backend)
    if not jt.remote_command:
        raise InvalidArgument("the job template has no remote_command")
    limits: dict[str, Any] = {}
    timeout: float | None = None
    for key, value in _mapping(jt.resource_limits, "resource_limits").items():
        if key == structs.WALLCLOCK_TIME:
            timeout = _seconds(value, key)
        elif key == structs.VIRTUAL_MEMORY:
            limits["memory_mb"] = math.ceil(_positive(value, key) / 1024)
        else:
            raise _refuse(f"resource limit {key}", backend)
    slots = 1 if jt.min_slots is None else _count(jt.min_slots, "min_slots")
    if jt.max_slots is not None and _count(jt.max_slots, "max_slots") != slots:
        raise _refuse("max_slots other than min_slots", backend)
    if slots > 1:
        limits["cpus"] = slots
    return models.JobTemplate(
        remote_command=jt.remote_command,
        args=_arguments(jt.args),
        job_name=jt.job_name,
        working_directory=jt.working_directory,
        job_environment=_mapping(jt.job_environment, "job_environment"),
        input_path=jt.input_path,
        output_path=jt.output_path,
        error_path=jt.error_path,
        join_files=_flag(jt.join_files, "join_files"),
        job_category=jt.job_category,
        submit_as_hold=_flag(jt.submit_as_hold, "submit_as_hold"),
        timeout=timeout,
        queue_name=jt.queue_name,
        resource_limits=limits,
        stage_in_files=_mapping(jt.stage_in_files, "stage_in_files"),
        extension=_mapping(jt.extension, "extension"),
        candidate_machines=_strings(jt.candidate_machines, "candidate_machines"),
        min_phys_memory=jt.min_phys_memory,
        accounting_id=jt.accounting_id,
        stage_out_files=_mapping(jt.stage_out_files, "stage_out_files"),
        priority=0 if jt.priority is None else jt.priority,
        start_time=_epoch(jt.start_time, "start_time"),
        deadline_time=_epoch(jt.deadline_time, "deadline_time"),
    )


def template_out(t: models.JobTemplate) -> structs.JobTemplate:
    """The binding's view of a stored template (what the job was submitted with)."""
    limits: dict[str, Any] = {}
    if t.timeout:
        limits[structs.WALLCLOCK_TIME] = t.timeout
    if t.resource_limits.get("memory_mb"):
        limits[structs.VIRTUAL_MEMORY] = int(t.resource_limits["memory_mb"]) * 1024
    return structs.JobTemplate(
        remote_command=t.remote_command, args=list(t.args), submit_as_hold=t.submit_as_hold,
        job_environment=dict(t.job_environment) or None, working_directory=t.working_directory,
        job_category=t.job_category, job_name=t.job_name, input_path=t.input_path, output_path=t.output_path,
        error_path=t.error_path, join_files=t.join_files, queue_name=t.queue_name,
        min_slots=t.resource_limits.get("cpus"), stage_in_files=dict(t.stage_in_files) or None,
        resource_limits=limits or None, extension=dict(t.extension) or None,
        candidate_machines=list(t.candidate_machines) or None, min_phys_memory=t.min_phys_memory,
        accounting_id=t.accounting_id, stage_out_files=dict(t.stage_out_files) or None,
        priority=t.priority or None, start_time=_time(t.start_time), deadline_time=_time(t.deadline_time),
    )


def state_out(state: models.JobState) -> structs.JobState:
    return structs.JobState[state.name]


def info_out(job: models.JobInfo) -> structs.JobInfo:
    return structs.JobInfo(
        job_id=job.id, job_name=job.name, exit_status=job.exit_status, terminating_signal=job.signal,
        annotation=job.annotation, job_state=state_out(job.state), job_sub_state=None,
        allocated_machines=[job.machine] if job.machine else None, submission_machine=job.submission_machine,
        job_owner=job.job_owner, slots=job.template.resource_limits.get("cpus"),
        queue_name=job.template.queue_name,
        wallclock_time=_amount(job.wallclock_time), cpu_time=_amount(job.cpu_time),
        submission_time=_time(job.submission_time), dispatch_time=_time(job.dispatch_time),
        finish_time=_time(job.finish_time), session_name=job.session, backend=job.backend,
        native_id=job.native_id, exit_code=_code(job), exit_code_from=job.exit_code_from(),
    )


def _code(job: models.JobInfo) -> int | None:
    """What `drmaa2 wait` exits with for this job once it ended (207: no exit status)."""
    if not job.state.final:
        return None
    code = job.exit_code()
    return int(ExitStatus.NO_EXIT_STATUS) if code is None else code


def platform_info_out(job: monitoring.PlatformJob, backend: str) -> structs.JobInfo:
    return structs.JobInfo(
        job_id=job.native_id, job_name=job.name, job_state=state_out(models.JobState(job.state)),
        allocated_machines=[job.machine] if job.machine else None, job_owner=job.owner, queue_name=job.queue,
        backend=backend, native_id=job.native_id,
    )


def machine_out(m: monitoring.MachineInfo) -> structs.MachineInfo:
    return structs.MachineInfo(
        name=m.name, available=m.available, sockets=m.sockets, cores_per_socket=m.cores_per_socket,
        threads_per_core=m.threads_per_core, load=m.load, phys_memory=m.phys_memory, virt_memory=m.virt_memory,
        machine_os=structs.OperatingSystem[m.machine_os.upper()], machine_os_version=m.machine_os_version,
        machine_arch=structs.CpuArchitecture[m.machine_arch.upper()], cores=m.cores,
    )


def queue_out(q: monitoring.QueueInfo) -> structs.QueueInfo:
    return structs.QueueInfo(name=q.name, available=q.available, default=q.default, slots=q.slots, used=q.used,
                             machines=list(q.machines))


def matches(info: structs.JobInfo, want: structs.JobInfo | None) -> bool:
    """DRMAA2's job filter: every field set in ``want`` equals the job's (allocated_machines: any in common)."""
    if want is None:
        return True
    if not isinstance(want, structs.JobInfo):
        raise InvalidArgument(f"a filter is a JobInfo, not {shown(want)}")
    for name, value in want._asdict().items():
        if value is None:
            continue
        have = getattr(info, name)
        if name == "allocated_machines":
            if not set(value) & set(have or []):
                return False
        elif have != value:
            return False
    return True


def timeout_in(timeout: object) -> float | None:
    """A wait's timeout: INFINITE_TIME (and None) waits for ever, ZERO_TIME not at all, else seconds (a number or
    a ``timedelta``). Raises InvalidArgument for anything else."""
    if timeout is None or (_number(timeout) and timeout == structs.INFINITE_TIME):
        return None
    if isinstance(timeout, timedelta):
        timeout = timeout.total_seconds()
    if not _number(timeout) or timeout < 0:
        raise InvalidArgument(f"invalid timeout {shown(timeout)}: seconds, INFINITE_TIME or ZERO_TIME")
    return float(timeout)


def _seconds(value: object, what: str) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    return _positive(value, what)


def _positive(value: object, what: str) -> float:
    if not _number(value) or value <= 0:
        raise InvalidArgument(f"{what} must be a positive number, not {shown(value)}")
    return float(value)


def _count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgument(f"{what} must be a whole number of at least 1, not {shown(value)}")
    return value


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _flag(value: object, what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):  # "no" would otherwise be true
        raise InvalidArgument(f"{what} must be True or False, not {shown(value)}")
    return value


def _mapping(value: object, what: str) -> dict[Any, Any]:
    """A copy of a dict field (None: empty); its keys and values are the core's to check."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{what} must be a dict, not {shown(value)}")
    return dict(value)


def _strings(value: object, what: str) -> list[Any]:
    """A copy of a list field (None: empty). A string is refused, not split into its characters."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidArgument(f"{what} must be a list of strings, not {shown(value)}")
    return list(value)


def _arguments(value: object) -> list[Any]:
    """The command's arguments: strings, and numbers written as the shell would pass them."""
    return [str(a) if _number(a) else a for a in _strings(value, "args")]


def _epoch(value: object, what: str) -> float | None:
    """Epoch seconds of an absolute time (a ``datetime``; without a time zone, local time)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgument(f"{what} must be a datetime, not {shown(value)}")
    try:
        return value.timestamp()
    except (OverflowError, ValueError, OSError):
        raise InvalidArgument(f"{what} {value} is not a time between 1970 and 9999") from None


def _amount(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _time(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)

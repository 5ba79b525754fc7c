"""From a JobTemplate to a container: validation and the engine's create arguments, without the engine.

What the docker backend reads (see docs/docker.md): the image from ``job_category``; ``remote_command`` and
``args`` as the container's command, untouched (the image's entrypoint, if any, receives them, as with
``docker run``); ``job_name``; ``job_environment``; ``working_directory`` (a path inside the container);
``resource_limits`` memory_mb and cpus; ``stage_in_files`` as bind mounts; ``extension`` user, pull and
native (``network=``, ``entrypoint=``, ``init=``). Holds, arrays and dependencies are the core's (its runner
starts such jobs later through the plain protocol), so ``submit_as_hold`` is not read here.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidArgument, UnsupportedAttribute
from ...models import JobInfo, JobTemplate
from ..base import job_variables

LABEL = "drmaa2."
NATIVE = ("network", "entrypoint", "init")
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
#: The container's log, which is where its output is read from. The engine's default ``json-file`` driver
#: stores each line as a JSON string and replaces bytes that are not UTF-8 by U+FFFD (300,000 random bytes
#: came back as 557,584); ``local`` stores them as protobuf bytes and gives them back exactly. Every option is
#: set, so that the engine's ``log-opts`` (meant for its default driver) are not merged in: one file, never
#: rotated in practice (the driver has no "unlimited": a size of 0 would rotate on every write), uncompressed.
LOG_CONFIG = {"Type": "local", "Config": {"max-size": "1p", "max-file": "1", "compress": "false"}}


@dataclass
class ContainerSpec:
    """What ``prepare`` validated, ready to become create arguments once the job id is known."""

    image: str
    command: list[str] | None
    user: str | None = None
    working_dir: str | None = None
    pull: bool = False
    init: bool = True
    network: str | None = None
    entrypoint: list[str] | None = None
    memory: int | None = None  # bytes
    nano_cpus: int | None = None
    mounts: list[dict[str, Any]] = field(default_factory=list)
    stdin: bool = False  # open, for `drmaa2 run` to attach to (the job reads it to its end)


def container_name(instance: str, job_id: str) -> str:
    """``drmaa2-INSTANCE-ID``: unique per home, and known before the container exists."""
    return _NAME_UNSAFE.sub("-", f"drmaa2-{instance}-{job_id}")


def spec_from_template(t: JobTemplate, *, local_engine: bool) -> ContainerSpec:
    """Validate ``t`` for a container; raises InvalidArgument (UnsupportedAttribute for fields a container
    cannot honour). Host paths are checked only when the engine runs on this machine."""
    if not t.job_category:
        raise InvalidArgument("the docker backend needs an image (--image)")
    spec = ContainerSpec(
        image=t.job_category,
        command=t.argv if t.remote_command else None,
        user=t.extension.get("user") or None,
        pull=bool(t.extension.get("pull")),
        stdin=bool(t.extension.get("stdin")),
    )
    _apply_native(spec, t.extension.get("native") or [])
    if t.working_directory is not None:
        if not t.working_directory.startswith("/"):
            raise InvalidArgument(
                f"working directory {t.working_directory} must be an absolute path inside the container"
            )
        spec.working_dir = t.working_directory
    _apply_limits(spec, t.resource_limits)
    for src, dst in t.stage_in_files.items():
        spec.mounts.append(_mount(src, dst, local_engine))
    for path in (t.output_path, t.error_path):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise InvalidArgument(f"the directory for output file {path} does not exist")
    return spec


def _apply_native(spec: ContainerSpec, native: list[str]) -> None:
    for item in native:
        key, sep, value = str(item).partition("=")
        if not sep or key not in NATIVE:
            raise InvalidArgument(
                f"docker native option {item!r} is not one of {', '.join(k + '=...' for k in NATIVE)}"
            )
        if key == "network":
            spec.network = value or None
        elif key == "entrypoint":
            # [""] clears the image's entrypoint, as `docker run --entrypoint ''` does.
            spec.entrypoint = [value]
        elif value.lower() in ("true", "yes", "1", "false", "no", "0"):
            spec.init = value.lower() in ("true", "yes", "1")
        else:
            raise InvalidArgument(f"docker native option init must be true or false, not {value!r}")


def _apply_limits(spec: ContainerSpec, limits: dict[str, Any]) -> None:
    for key, value in limits.items():
        if key == "memory_mb":
            if int(value) <= 0:
                raise InvalidArgument(f"memory limit must be positive, not {value} MB")
            # Swap limited to the same amount: a job with --memory 512m has 512 MiB, not 1 GiB with swap.
            spec.memory = int(value) * 1024 * 1024
        elif key == "cpus":
            if float(value) <= 0:
                raise InvalidArgument(f"cpu limit must be positive, not {value}")
            spec.nano_cpus = int(float(value) * 1e9)
        else:
            name = "a disk limit" if key == "disk_mb" else f"the resource limit {key!r}"
            raise UnsupportedAttribute(f"the docker backend cannot honour {name}", field=f"resource_limits.{key}")


def _mount(src: str, dst: str, local_engine: bool) -> dict[str, Any]:
    target, read_only = (dst[:-3], True) if dst.endswith(":ro") else (dst, False)
    if target.endswith(":rw"):
        target = target[:-3]
    if not target.startswith("/"):
        raise InvalidArgument(f"mount target {target} must be an absolute path inside the container")
    # Relative to the submitter's directory: the engine would take "data" for the name of a volume.
    source = os.path.abspath(src)
    if local_engine and not os.path.exists(source):
        raise InvalidArgument(f"mount source {src} does not exist")
    return {"Type": "bind", "Source": source, "Target": target, "ReadOnly": read_only}


def labels_for(job: JobInfo, instance: str) -> dict[str, str]:
    """Labels that let a job be found and recognised from the engine alone (environment values are left
    out: they may hold secrets, and ``docker inspect`` shows labels to anyone on the engine)."""
    t = job.template.to_dict()
    if "job_environment" in t:
        t["job_environment"] = sorted(t["job_environment"])
    labels = {
        LABEL + "instance": instance,
        LABEL + "session": job.session,
        LABEL + "job": job.id,
        LABEL + "output": job.output_path or "",
        LABEL + "error": job.error_path or "",
        LABEL + "template": json.dumps(t, separators=(",", ":")),
    }
    if job.template.job_name:
        labels[LABEL + "name"] = job.template.job_name
    return labels


def create_config(
    spec: ContainerSpec, job: JobInfo, labels: dict[str, str], log_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The body of the engine's ``POST /containers/create``; ``log_config`` for an engine without Docker's
    ``local`` log driver (Podman)."""
    env = {**job.template.job_environment, **job_variables(job)}
    return {
        "Image": spec.image,
        "Env": [f"{k}={v}" for k, v in env.items()],
        "Labels": labels,
        "HostConfig": {**host_config(spec), "LogConfig": log_config or LOG_CONFIG},
        **_given(Cmd=spec.command, WorkingDir=spec.working_dir, User=spec.user, Entrypoint=spec.entrypoint),
        # Open until the one attach ends (StdinOnce): then the job reads its end of file.
        **({"OpenStdin": True, "StdinOnce": True, "AttachStdin": True} if spec.stdin else {}),
    }


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    return {
        "Init": spec.init,
        "LogConfig": LOG_CONFIG,
        **_given(
            Memory=spec.memory,
            MemorySwap=spec.memory,
            NanoCpus=spec.nano_cpus,
            Mounts=spec.mounts,
            NetworkMode=spec.network,
        ),
    }


def _given(**fields: Any) -> dict[str, Any]:
    # A field left out takes the engine's (or the image's) default. Zero and [""] are values: an
    # entrypoint of [""] clears the image's own.
    return {key: value for key, value in fields.items() if value not in (None, "", [])}

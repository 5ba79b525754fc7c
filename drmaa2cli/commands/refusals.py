"""A backend's refusal of what a job asked for, said in the words the user typed: "--image is for the docker
backend", not "the process backend cannot honour job category" (the core's words, kept for the Python API)."""

from collections.abc import Mapping
from typing import Any

from ..errors import UnsupportedAttribute

#: Template field (as ``UnsupportedAttribute.field`` names it) -> the option that sets it.
OPTIONS: dict[str, str] = {
    "queue_name": "--queue",
    "input_path": "--input",
    "stage_in_files": "--mount",
    "working_directory": "--cwd",
    "job_environment": "--env",
    "output_path": "--output",
    "error_path": "--error",
    "timeout": "--timeout",
    "resource_limits.memory_mb": "--memory",
    "resource_limits.cpus": "--cpus",
    "resource_limits.disk_mb": "--disk",
    "extension.user": "--user",
    "extension.pull": "--pull",
    "extension.native": "--native",
}
#: Option -> the backends that honour it (tests/test_from_the_shell.py checks this against their declarations).
FOR_BACKENDS: dict[str, tuple[str, ...]] = {
    "--image": ("docker",),
    "--app": ("cf",),
    "--category": ("docker", "cf"),
    "--queue": ("slurm", "gridengine"),
    "--input": ("process", "slurm", "gridengine"),
    "--mount": ("docker",),
    "--cwd": ("process", "docker", "slurm", "gridengine"),
    "--env": ("process", "docker", "slurm", "gridengine"),
    "--output": ("process", "docker", "slurm", "gridengine"),
    "--error": ("process", "docker", "slurm", "gridengine"),
    "--timeout": ("process", "docker", "slurm", "gridengine"),
    "--memory": ("docker", "cf", "slurm", "gridengine"),
    "--cpus": ("docker", "slurm", "gridengine"),
    "--disk": ("cf", "slurm"),
    "--user": ("docker", "cf"),
    "--pull": ("docker",),
    "--native": ("docker", "slurm", "gridengine"),
}


def option_for(field: str | None, typed: Mapping[str, Any]) -> str | None:
    """The option the user typed that set ``field`` (``typed``: the command's options by parameter name)."""
    if field == "job_category":
        return "--image" if typed.get("image") else "--app" if typed.get("app") else "--category"
    if field == "resource_limits":  # a backend that takes no limit at all: the first one asked for
        return next((f"--{o}" for o in ("memory", "cpus", "disk") if typed.get(o)), None)
    return OPTIONS.get(field or "")


def in_users_words(error: UnsupportedAttribute, typed: Mapping[str, Any], backend: str) -> UnsupportedAttribute:
    """``error`` again, worded by the option that asked for what ``backend`` cannot do."""
    option = option_for(error.field, typed)
    if option is None:
        return error
    owners = FOR_BACKENDS.get(option, ())
    if len(owners) == 1:
        text = f"{option} is for the {owners[0]} backend (this job is for {backend}: add --backend {owners[0]})"
    elif owners:
        listed = ", ".join(owners[:-1]) + f" and {owners[-1]}"
        text = f"{option} is for the {listed} backends, not {backend}"
    else:
        text = f"the {backend} backend has no {option}"
    return UnsupportedAttribute(text, field=error.field)

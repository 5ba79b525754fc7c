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
#: Options whose backends no declaration names: a category is an image on the container backends and an app
#: on cf; limits are honoured or refused at run time (the process backend's need a cgroup). Every other
#: option's backends are read from the backends' own declarations (``owners``).
STATIC_OWNERS: dict[str, tuple[str, ...]] = {
    "--image": ("docker", "podman", "kubernetes"),
    "--app": ("cf",),
    "--category": ("docker", "podman", "kubernetes", "cf"),
    "--memory": ("process", "docker", "podman", "cf", "slurm", "gridengine", "kubernetes"),
    "--cpus": ("process", "docker", "podman", "slurm", "gridengine", "kubernetes"),
    "--disk": ("cf", "slurm"),
}


def owners(option: str) -> tuple[str, ...]:
    """The backends that honour ``option``, in the registry's order. Loads every backend class: only on the
    way to a refusal."""
    if option in STATIC_OWNERS:
        return STATIC_OWNERS[option]
    from ..backends import REGISTRY, backend_class

    field = next((f for f, o in OPTIONS.items() if o == option), None)
    if field is None:
        return ()
    found = []
    for name in REGISTRY:
        cls = backend_class(name)
        if field.startswith("extension."):
            honours = field.removeprefix("extension.") in cls.extensions
        else:
            honours = field not in cls.unsupported_fields
        if honours:
            found.append(name)
    return tuple(found)


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
    names = owners(option)
    if backend in names:  # honoured there, refused this time (a limit without a cgroup): its own words say why
        return error
    if len(names) == 1:
        text = f"{option} is for the {names[0]} backend (this job is for {backend}: add --backend {names[0]})"
    elif names:
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        text = f"{option} is for the {listed} backends, not {backend}"
    else:
        text = f"the {backend} backend has no {option}"
    return UnsupportedAttribute(text, field=error.field)

"""Backend registry: names map to ``"module:Class"`` strings, imported only when that backend is used.

A backend whose library is missing (the docker SDK, say) reports BackendUnavailable when it is chosen;
it never breaks the other backends or the CLI's start-up.
"""

from __future__ import annotations

import importlib

from ..errors import BackendUnavailable, InvalidArgument
from .base import Backend, BackendContext, Launch

REGISTRY: dict[str, str] = {
    "process": "drmaa2cli.backends.process.backend:ProcessBackend",
    "cf": "drmaa2cli.backends.cf.backend:CFBackend",
    "slurm": "drmaa2cli.backends.sched.slurm:SlurmBackend",
    "gridengine": "drmaa2cli.backends.sched.gridengine:GridEngineBackend",
    "docker": "drmaa2cli.backends.docker.backend:DockerBackend",
}

__all__ = ["REGISTRY", "Backend", "BackendContext", "Launch", "backend_class", "names"]


def names() -> list[str]:
    return sorted(REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The class registered under ``name``; raises InvalidArgument for an unknown name."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown backend {name!r} (known: {', '.join(names())})"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise BackendUnavailable(f"the {name} backend cannot load: {e}") from e
    cls: type[Backend] = getattr(module, class_name)
    return cls

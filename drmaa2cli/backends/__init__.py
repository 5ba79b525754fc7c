"""Backend registry: names map to ``"module:Class"`` strings, imported only when that backend is used.

A backend whose library is missing (the docker SDK, say) reports BackendUnavailable when it is chosen;
it never breaks the other backends or the CLI's start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..errors import BackendUnavailable, InvalidArgument
from .base import Backend, BackendContext, Launch, Shape, data_problem

#: In the order the docs and messages list them.
REGISTRY: dict[str, str] = {
    "process": "drmaa2cli.backends.process.backend:ProcessBackend",
    "docker": "drmaa2cli.backends.docker.backend:DockerBackend",
    "podman": "drmaa2cli.backends.docker.podman:PodmanBackend",
    "cf": "drmaa2cli.backends.cf.backend:CFBackend",
    "slurm": "drmaa2cli.backends.sched.slurm:SlurmBackend",
    "gridengine": "drmaa2cli.backends.sched.gridengine:GridEngineBackend",
    "libdrmaa": "drmaa2cli.backends.libdrmaa.backend:LibDrmaaBackend",
    "kubernetes": "drmaa2cli.backends.kubernetes.backend:KubernetesBackend",
    "remote": "drmaa2cli.backends.remote.backend:RemoteBackend",
}

__all__ = ["REGISTRY", "Backend", "BackendContext", "Launch", "backend_class", "check_data", "data_shape", "names",
           "settings_of"]


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


def _package(name: str) -> Any:
    """The package of backend ``name``'s family, whose ``__init__`` holds only plain declarations (it imports
    nothing); None for a backend this version does not know."""
    target = REGISTRY.get(name)
    return importlib.import_module(target.partition(":")[0].rpartition(".")[0]) if target else None


_SHAPES: dict[str, Shape] = {}


def data_shape(name: str) -> Shape:
    """What backend ``name`` keeps in ``backend_data`` (its class's ``data_shape``), read from its package's
    ``DATA_SHAPE``: checking the store's records loads no backend (neither httpx nor the docker modules). Empty
    for a backend this version does not know. Looked up once per name: every record of the store is checked on
    every read."""
    shape = _SHAPES.get(name)
    if shape is None:
        shape = _SHAPES[name] = getattr(_package(name), "DATA_SHAPE", {})
    return shape


def settings_of(name: str) -> dict[str, str] | None:
    """The settings backend ``name`` reads from ``[backends.NAME]`` of the config file, with their kinds, as its
    package's ``SETTINGS`` declares them; None for an unknown backend."""
    package = _package(name)
    return None if package is None else dict(getattr(package, "SETTINGS", {}).get(name, {}))


def check_data(name: str, data: Mapping[str, Any]) -> str | None:
    """What is wrong with ``data``, the ``backend_data`` of a stored record of backend ``name``, as that
    backend's ``check_data`` says it ("backend data pid has the wrong type"), or None; without loading it."""
    return data_problem(data, data_shape(name))


#: Backends whose ``setup`` says something on this machine (``drmaa2 config`` loads only these).
SETUP_NOTES = ("process",)


def setup(home: Any, settings: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Backend name -> what its ``Backend.setup`` says (``drmaa2 config``): which containment the process
    backend's jobs get here. ``settings`` are the config file's backend tables."""
    return {name: backend_class(name)(BackendContext(home, settings=settings.get(name, {}))).setup()
            for name in SETUP_NOTES}

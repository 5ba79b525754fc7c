"""Jobs as containers on Podman (4.3 or newer), through the Docker Engine API that ``podman system service``
serves: the docker backend's class under its own name, with Podman's own variable and default socket.

A registry name of its own rather than the docker backend at ``DOCKER_HOST``: a job's record says which engine
it ran on (``--backend podman`` in ``status``), Podman is found where Podman users point their tools
(``CONTAINER_HOST``, root's ``/run/podman/podman.sock``) without touching the Docker settings of the same
shell, and its config section (``[backends.podman]``) is its own. The docker backend pointed at a Podman
socket works as well (tests/docker runs against both engines); what differs is in docs/podman.md: Podman never
marks a container OOMKilled (a job killed for its memory limit reads "killed by signal 9 (SIGKILL)").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..contract import Refusal
from .backend import DockerBackend
from .engine import PODMAN_LOG_CONFIG, Engine


class PodmanEngine(Engine):
    """Podman's API service: ``CONTAINER_HOST`` (as for ``podman --remote``), else the config file's ``host``,
    else root's default socket."""

    variable: ClassVar[str] = "CONTAINER_HOST"
    noun: ClassVar[str] = "the Podman service"
    daemon: ClassVar[str] = "podman system service"
    default_address: ClassVar[str] = "unix:///run/podman/podman.sock"
    access: ClassVar[str] = "use a user allowed on its socket"
    #: Podman has no ``local`` driver; its ``k8s-file`` keeps the bytes a container wrote.
    log_config: ClassVar[dict[str, Any] | None] = PODMAN_LOG_CONFIG


class PodmanBackend(DockerBackend):
    """Jobs as containers on the Podman service at ``CONTAINER_HOST`` (default: root's socket)."""

    name = "podman"
    engine_class: ClassVar[type[Engine]] = PodmanEngine
    refuses: ClassVar[Mapping[str, Refusal]] = {
        **DockerBackend.refuses,
        "command-not-found": Refusal(
            "a command that does not exist exits 1, not 127: Podman's init (catatonit, which drmaa2 runs as the "
            "container's pid 1) reports \"failed to exec pid1\" that way; with --native init=false the engine "
            "refuses to start it and the job fails with 127"
        ),
    }

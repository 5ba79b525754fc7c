"""The Docker engine as the docker backend sees it: a client per engine address, and the one place where
the SDK's and requests' errors become drmaa2 errors.

The docker SDK (and requests under it) costs ~90 ms to import, so it is imported here, when a docker job
is first touched, never when drmaa2 starts.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import (
    BackendUnavailable,
    DeniedByDrms,
    Drmaa2Error,
    InvalidArgument,
    InvalidState,
    UnsupportedOperation,
)

#: The API of Docker 20.10. A fixed version saves the round trip the SDK spends asking the engine for
#: its own; an engine too new to speak it (Docker 29 wants 1.44) is detected and negotiated with instead.
API_VERSION = "1.41"
DEFAULT_ADDRESS = "unix:///var/run/docker.sock"
TIMEOUT = 60

_STATE_CONFLICT = re.compile(r"is (not|already) (running|paused)|is paused|is restarting|is not stopped")


class Missing(InvalidState):
    """The engine has no such container or image. Callers decide what that means; one that does not still
    reports a clean error (a container removed meanwhile is a job in no state to be acted on)."""


def redact(address: str) -> str:
    """``address`` without a password, fit for messages and records."""
    return re.sub(r"//([^/:@]*):[^/@]*@", r"//\1@", address)


class Engine:
    """One Docker engine: ``address`` (the engine recorded with a job), else ``DOCKER_HOST`` from
    ``environ``, else ``configured`` (the config file's ``host``), else the default socket. TLS settings
    come from ``environ`` (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). Creating one does not talk to the engine."""

    def __init__(
        self, environ: Mapping[str, str], address: str | None = None, configured: str | None = None
    ) -> None:
        try:
            import docker
        except ImportError as e:
            raise BackendUnavailable(f"the docker backend needs the docker package: {e}") from e
        self._docker = docker
        self._from_env = address is None and bool(environ.get("DOCKER_HOST"))
        try:
            self._kwargs: dict[str, Any] = docker.utils.kwargs_from_env(environment=dict(environ))
        except docker.errors.DockerException as e:
            raise InvalidArgument(f"Docker settings in the environment: {_first_line(str(e))}") from e
        if address is None and not self._from_env and configured:
            address = configured
        if address is not None:
            self._kwargs["base_url"] = address
        self.address: str = self._kwargs.get("base_url") or DEFAULT_ADDRESS
        self._api: Any = None
        self._version = API_VERSION

    @property
    def local(self) -> bool:
        """True when the engine runs on this machine, so host paths (mounts) mean the same to it."""
        return self.address.startswith(("unix:", "http+unix:", "npipe:"))

    @property
    def api(self) -> Any:
        if self._api is None:
            try:
                self._api = self._docker.APIClient(version=self._version, timeout=TIMEOUT, **self._kwargs)
            except self._docker.errors.DockerException as e:
                raise InvalidArgument(f"{self._where()}: {_first_line(str(e))}") from e
        return self._api

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``APIClient.method(*args, **kwargs)``. Raises ``Missing`` for a 404, else a Drmaa2Error:
        BackendUnavailable (engine unreachable or failing), DeniedByDrms (permission), InvalidState
        (409, or a container in the wrong state), InvalidArgument (a request the engine refused)."""
        try:
            try:
                return getattr(self.api, method)(*args, **kwargs)
            except self._docker.errors.APIError as e:
                if e.status_code != 400 or "too old" not in str(e.explanation) or self._version == "auto":
                    raise
                self._version, self._api = "auto", None
                return getattr(self.api, method)(*args, **kwargs)
        except Drmaa2Error:
            raise
        except Exception as e:
            raise self._convert(e) from e

    def stream(self, method: str, *args: Any, **kwargs: Any) -> Stream:
        """A streaming call (events, logs, pull): the request is made now, the items are read by iterating
        the returned ``Stream``, whose errors are converted like ``call``'s. Close it when done."""
        return Stream(self, self.call(method, *args, **kwargs))

    def _where(self) -> str:
        if self._from_env:
            return f"the Docker engine at DOCKER_HOST={redact(self.address)}"
        return f"the Docker engine at {redact(self.address)}"

    def _convert(self, e: Exception) -> Exception:
        errors = self._docker.errors
        if isinstance(e, errors.NotFound):
            return Missing(_first_line(str(e.explanation)))
        if isinstance(e, errors.APIError):
            status, text = e.status_code or 500, _first_line(str(e.explanation or e))
            if status in (401, 403):
                return DeniedByDrms(f"{self._where()} refused: {text}")
            if status == 501:
                return UnsupportedOperation(text)
            if status == 409 or _STATE_CONFLICT.search(text):
                return InvalidState(text)
            if status < 500:
                return InvalidArgument(text)
            return BackendUnavailable(f"{self._where()} failed: {text}")
        cause = _os_error(e)
        if isinstance(cause, PermissionError):
            return DeniedByDrms(
                f"permission denied on {self._where()}; use a user in the docker group or set DOCKER_HOST"
            )
        if cause is not None:
            hint = "" if self._from_env else " (is dockerd running? set DOCKER_HOST for another engine)"
            return BackendUnavailable(f"cannot reach {self._where()}: {cause.strerror or cause}{hint}")
        name = type(e).__name__
        if "Timeout" in name:
            return BackendUnavailable(f"{self._where()} did not answer within {TIMEOUT} s")
        if isinstance(e, errors.DockerException) or type(e).__module__.startswith(("requests", "urllib3")):
            return BackendUnavailable(f"{self._where()}: {_first_line(str(e))}")
        return e


class Stream:
    """Items of a streaming response; iterating raises drmaa2 errors, ``close`` ends the response."""

    def __init__(self, engine: Engine, source: Any) -> None:
        self._engine = engine
        self._source = source

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._source
        except Drmaa2Error:
            raise
        except Exception as e:
            raise self._engine._convert(e) from e

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _os_error(e: BaseException) -> OSError | None:
    """The OSError (no such socket, refused, permission) somewhere inside requests' wrapped errors."""
    stack: list[object] = [e]
    seen: set[int] = set()
    while stack:
        x = stack.pop()
        if not isinstance(x, BaseException) or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, OSError) and x.errno is not None:
            return x
        stack.extend(x.args)
        stack.extend((x.__cause__, x.__context__, getattr(x, "reason", None)))
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no details"

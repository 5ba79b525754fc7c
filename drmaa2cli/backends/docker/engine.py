"""The Docker engine as the docker backend sees it: the API calls it makes, and the one place where HTTP
statuses and connection errors become drmaa2 errors. The transport is in http.py (the standard library
for unix sockets and plain TCP, the docker SDK for TLS, ssh:// and pulls).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, Unpack
from urllib.parse import quote, urlencode, urlparse

from ...errors import (
    BackendUnavailable,
    DeniedByDrms,
    Drmaa2Error,
    InvalidArgument,
    InvalidState,
    UnsupportedOperation,
)
from .http import LOCAL_SCHEMES, Body, SdkTransport, SocketTransport, Stream, Transport, demultiplex, needs_sdk

if TYPE_CHECKING:
    import socket

#: The API of Docker 20.10: fixed, so that no call waits for the engine to be asked its version. An
#: engine that does not speak it (Docker 29 wants 1.44 or newer, Docker 19.03 speaks 1.40) says so, and
#: its own version is used from then on.
API_VERSION = "1.41"
DEFAULT_ADDRESS = "unix:///var/run/docker.sock"
TIMEOUT = 60.0
#: Podman's log driver that gives a container's bytes back as written (it has no ``local``).
PODMAN_LOG_CONFIG = {"Type": "k8s-file"}
STDIN_NEEDS_SOCKET = "the docker backend passes standard input only to an engine at a unix socket or plain tcp://"

# Besides 409, the engines say a state conflict with a 500 in these words; "cannot resume a running process" is
# runc's answer to an unpause that Docker's own unpause after a kill of a paused container got to first.
_STATE_CONFLICT = re.compile(
    r"is (not|already) (running|paused)|is paused|is restarting|is not stopped|cannot resume a running process"
)


class _Call(TypedDict, total=False):
    """What a request carries besides its method and path."""

    params: Mapping[str, str | None]  # the query; None values are left out
    body: Any  # sent as JSON
    timeout: float | None  # seconds (TIMEOUT when not given); None waits for ever, as the event stream does
    unchunked: bool  # see Transport.request


class Missing(InvalidState):
    """The engine has no such container or image. Callers decide what that means; one that does not still
    reports a clean error (a container removed meanwhile is a job in no state to be acted on)."""


def redact(address: str) -> str:
    """``address`` without a password, fit for messages and records."""
    return re.sub(r"//([^/:@]*):[^/@]*@", r"//\1@", address)


class Engine:
    """One Docker engine: ``address`` (the engine recorded with a job), else ``DOCKER_HOST`` from
    ``environ``, else ``configured`` (the config file's ``host``), else the default socket. TLS settings
    come from ``environ`` (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). Creating one does not talk to the engine.

    Every call raises ``Missing`` for a 404, else a Drmaa2Error: BackendUnavailable (engine unreachable
    or failing), DeniedByDrms (permission), InvalidState (a container in the wrong state),
    UnsupportedOperation (501), InvalidArgument (a request the engine refused)."""

    #: The variable that names the engine, the engine in messages, the daemon that serves it, and where it
    #: listens when nothing says otherwise (a subclass names another engine that speaks the same API).
    variable: ClassVar[str] = "DOCKER_HOST"
    noun: ClassVar[str] = "the Docker engine"
    daemon: ClassVar[str] = "dockerd"
    default_address: ClassVar[str] = DEFAULT_ADDRESS
    access: ClassVar[str] = "use a user in the docker group"
    #: The containers' log driver, where their output is read from (None: spec.LOG_CONFIG, Docker's ``local``).
    log_config: ClassVar[dict[str, Any] | None] = None

    def __init__(
        self, environ: Mapping[str, str], address: str | None = None, configured: str | None = None
    ) -> None:
        self.environ = environ
        self._from_env = address is None and bool(environ.get(self.variable))
        self.address: str = address or environ.get(self.variable) or configured or self.default_address
        self._transport: Transport | None = None
        self._version = API_VERSION

    @property
    def version(self) -> str:
        """The API version the calls use (the engine's own once it refused ours)."""
        return self._version

    @property
    def via_sdk(self) -> bool:
        """Whether only the docker SDK reaches this engine (TLS, ssh://): no standard-library helper can."""
        return needs_sdk(self.address, self.environ)

    @property
    def local(self) -> bool:
        """True when the engine runs on this machine, so host paths (mounts) mean the same to it."""
        return urlparse(self.address).scheme in LOCAL_SCHEMES

    # --- the calls the backend makes -------------------------------------------------------------------
    def inspect_image(self, image: str) -> dict[str, Any]:
        return self._json("GET", f"/images/{_q(image)}/json")  # type: ignore[no-any-return]

    def cgroup_driver(self) -> str | None:
        """The engine's cgroup driver ("cgroupfs" or "systemd"), from ``GET /info``."""
        info = self._json("GET", "/info")
        return str(info.get("CgroupDriver")) if isinstance(info, dict) and info.get("CgroupDriver") else None

    def create(self, name: str, config: dict[str, Any]) -> None:
        """Create the container; an engine without the log driver asked for (Podman has no ``local``) is asked
        again with ``k8s-file``, its own byte-keeping driver: the docker backend works at a Podman socket."""
        try:
            self._json("POST", "/containers/create", params={"name": name}, body=config)
        except BackendUnavailable as e:
            if "invalid log driver" not in str(e):
                raise
            config = {**config, "HostConfig": {**config["HostConfig"], "LogConfig": PODMAN_LOG_CONFIG}}
            self._json("POST", "/containers/create", params={"name": name}, body=config)

    def start(self, name: str) -> None:
        self._json("POST", f"/containers/{_q(name)}/start")

    def attach_stdin(self, name: str) -> socket.socket:
        """A stream to the standard input of container ``name`` (created with OpenStdin); raises
        UnsupportedAttribute for an engine reached through the SDK, BackendUnavailable."""
        transport = self._transport_for()
        if not isinstance(transport, SocketTransport):
            raise UnsupportedOperation(STDIN_NEEDS_SOCKET)
        try:
            return transport.hijack(f"/v{self._version}/containers/{_q(name)}/attach?stream=1&stdin=1", TIMEOUT)
        except Exception as e:
            raise self._connection_error(e) from e

    def attach_output(self, name: str, stdin: bool = False) -> Stream:
        """The stdout and stderr of container ``name`` as it writes them, read with ``output_blocks``: attached
        before the container starts, every byte of them (``docker run`` attaches so), in blocks as large as the
        container's writes. Raises UnsupportedOperation for an engine reached through the SDK, Missing,
        BackendUnavailable."""
        transport = self._transport_for()
        if not isinstance(transport, SocketTransport):
            raise UnsupportedOperation("the docker backend attaches only to an engine at a unix socket or tcp://")
        path = f"/v{self._version}/containers/{_q(name)}/attach?stream=1&stdout=1&stderr=1" + "&stdin=1" * stdin
        try:
            return Stream(transport.hijack(path, TIMEOUT), writable=stdin)
        except Exception as e:
            raise self._connection_error(e) from e

    def output_blocks(self, stream: Stream) -> Iterator[tuple[int, bytes]]:
        """What ``attach_output`` gives, as ``log_blocks`` gives the log, until the container's streams closed
        (its end); the stream is closed then."""
        try:
            with self._reading():
                yield from demultiplex(stream)
        finally:
            stream.close()

    def containers(self, label: str) -> list[dict[str, Any]]:
        """Containers with ``label`` ("key=value"), running or not: the engine's summaries, not inspected."""
        params = {"all": "1", "filters": json.dumps({"label": [label]})}
        found: list[dict[str, Any]] = self._json("GET", "/containers/json", params=params)
        return found or []

    @contextlib.contextmanager
    def archive(self, name: str, path: str) -> Iterator[Body]:
        """The tar stream of ``path`` in the container (``GET /containers/NAME/archive``); Missing if absent."""
        body = self._request("GET", f"/containers/{_q(name)}/archive", params={"path": path})
        try:
            with self._reading():
                yield body
        finally:
            body.close()

    def images(self) -> list[dict[str, Any]]:
        """The engine's images (``GET /images/json``)."""
        found: list[dict[str, Any]] = self._json("GET", "/images/json")
        return found or []

    def info(self) -> dict[str, Any]:
        """The engine's host: name, CPUs, memory, OS, architecture (``GET /info``)."""
        return self._json("GET", "/info")  # type: ignore[no-any-return]

    def all_containers(self) -> list[dict[str, Any]]:
        """Every container of the engine, running or not (the engine has no owners to filter by)."""
        found: list[dict[str, Any]] = self._json("GET", "/containers/json", params={"all": "1"})
        return found or []

    def inspect(self, name: str) -> dict[str, Any]:
        return self._json("GET", f"/containers/{_q(name)}/json")  # type: ignore[no-any-return]

    def remove(self, name: str) -> None:
        self._json("DELETE", f"/containers/{_q(name)}", params={"force": "1", "v": "1"})

    def kill(self, name: str, signal: int) -> None:
        self._json("POST", f"/containers/{_q(name)}/kill", params={"signal": str(int(signal))})

    def stop(self, name: str, grace: int) -> None:
        self._json("POST", f"/containers/{_q(name)}/stop", params={"t": str(grace)}, timeout=TIMEOUT + grace)

    def wait_stopped(self, name: str, timeout: float) -> None:
        """Return once container ``name`` is no longer running (its state, which the engine sets a little after
        its 'die' event), or after ``timeout`` seconds; raises Missing, BackendUnavailable."""
        self._json("POST", f"/containers/{_q(name)}/wait", params={"condition": "not-running"}, timeout=timeout)

    def pause(self, name: str) -> None:
        self._json("POST", f"/containers/{_q(name)}/pause")

    def unpause(self, name: str) -> None:
        self._json("POST", f"/containers/{_q(name)}/unpause")

    def logs(self, name: str, *, stdout: bool, stderr: bool, tail: int | None = None) -> Iterator[bytes]:
        """The container's log so far (its last ``tail`` lines), block by block (stdout and stderr interleaved
        as the engine has them when both are asked for)."""
        for _, data in self.log_blocks(name, stdout=stdout, stderr=stderr, tail=tail):
            yield data

    def log_blocks(
        self, name: str, *, stdout: bool, stderr: bool, follow: bool = False, tail: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """The container's log as (stream, bytes): 1 for stdout, 2 for stderr (0 for an attached stdin's echo, 3
        for the engine's own errors), consecutive lines of one stream in one block. With ``follow``, what the
        container writes next too, until it has stopped (the engine then ends the stream)."""
        params = {"stdout": str(int(stdout)), "stderr": str(int(stderr)), "follow": "1" if follow else None,
                  "tail": None if tail is None else str(tail)}
        # Unchunked: the engine sends each line as an HTTP chunk of its own.
        body = self._request("GET", f"/containers/{_q(name)}/logs", params=params,
                             timeout=None if follow else TIMEOUT, unchunked=True)
        try:
            with self._reading():
                yield from demultiplex(body)
        finally:
            body.close()

    @contextlib.contextmanager
    def events(self, since: float, until: float | None, filters: dict[str, list[str]]) -> Iterator[Iterator[Any]]:
        """The engine's events from ``since`` (replayed) until ``until`` (None: forever); subscribed when
        the ``with`` block is entered, unsubscribed when it is left."""
        params = {
            "since": f"{since:.6f}",
            "until": None if until is None else f"{until:.6f}",
            "filters": json.dumps(filters),
        }
        body = self._request("GET", "/events", params=params, timeout=None)
        try:
            yield self._lines(body)
        finally:
            body.close()

    def pull(self, image: str) -> None:
        """Pull ``image`` through the SDK (it sends the registry credentials of the docker config).
        Raises InvalidArgument (no such image), BackendUnavailable (registry or engine unreachable)."""
        # After ``inspect_image``, so the version is one the engine accepts.
        transport = SdkTransport(self._sdk_kwargs(), TIMEOUT, self._version)
        try:
            for item in transport.api.pull(image, stream=True, decode=True):
                if isinstance(item, dict) and item.get("error"):
                    raise InvalidArgument(f"cannot pull image {image}: {_first_line(str(item['error']))}")
        except Drmaa2Error:
            raise
        except Exception as e:
            status = getattr(getattr(e, "response", None), "status_code", None)
            if status is None:
                raise self._connection_error(e) from e
            # The registry's reason as the engine relays it, not "the engine failed": the engine is fine.
            text = _first_line(str(getattr(e, "explanation", None) or e))
            error = self._status_error(int(status), text)
            kind = InvalidArgument if isinstance(error, Missing) else type(error)
            raise kind(f"cannot pull image {image}: {text}") from e

    # --- HTTP ------------------------------------------------------------------------------------------
    def _transport_for(self) -> Transport:
        if self._transport is None:
            if self.via_sdk:
                self._transport = SdkTransport(self._sdk_kwargs(), TIMEOUT, API_VERSION)
            else:
                self._transport = SocketTransport(self.address)
        return self._transport

    def _sdk_kwargs(self) -> dict[str, Any]:
        try:
            import docker
        except ImportError as e:
            raise BackendUnavailable(f"{self._where()} needs the docker package: {e}") from e
        try:
            kwargs: dict[str, Any] = docker.utils.kwargs_from_env(environment=dict(self.environ))
        except docker.errors.DockerException as e:
            raise InvalidArgument(f"Docker settings in the environment: {_first_line(str(e))}") from e
        kwargs["base_url"] = self.address
        return kwargs

    def _request(self, method: str, path: str, **call: Unpack[_Call]) -> Body:
        query = urlencode({k: v for k, v in call.get("params", {}).items() if v is not None})
        body = call.get("body")
        data = None if body is None else json.dumps(body).encode()
        timeout = call.get("timeout", TIMEOUT)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for first in (True, False):
            url = f"/v{self._version}{path}" + (f"?{query}" if query else "")
            try:
                status, resp = self._transport_for().request(
                    method, url, data, headers, timeout, unchunked=call.get("unchunked", False))
            except Drmaa2Error:
                raise
            except Exception as e:
                raise self._connection_error(e) from e
            if status < 400:
                return resp
            message = _message(resp)
            if first and status == 400 and ("too old" in message or "too new" in message):
                self._version = self._engine_version()
                continue
            raise self._status_error(status, message)
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, **call: Unpack[_Call]) -> Any:
        resp = self._request(method, path, **call)
        try:
            with self._reading():
                data = resp.read()
        finally:
            resp.close()
        return json.loads(data) if data.strip() else None

    def _engine_version(self) -> str:
        status, resp = self._transport_for().request("GET", "/version", None, {}, TIMEOUT)
        try:
            version = json.loads(resp.read()).get("ApiVersion")
        finally:
            resp.close()
        if status != 200 or not version:
            raise BackendUnavailable(f"{self._where()} did not say which API version it speaks")
        return str(version)

    def _lines(self, body: Body) -> Iterator[Any]:
        with self._reading():
            while line := body.readline():
                if line.strip():
                    yield json.loads(line)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except Drmaa2Error:
            raise
        except Exception as e:
            raise self._connection_error(e) from e

    # --- errors ----------------------------------------------------------------------------------------
    def _where(self) -> str:
        if self._from_env:
            return f"{self.noun} at {self.variable}={redact(self.address)}"
        return f"{self.noun} at {redact(self.address)}"

    def _status_error(self, status: int, message: str) -> Drmaa2Error:
        text = _first_line(message)
        if status == 404:
            return Missing(text)
        if status in (401, 403):
            return DeniedByDrms(f"{self._where()} refused: {text}")
        if status == 501:
            return UnsupportedOperation(text)
        if status == 409 or _STATE_CONFLICT.search(text):
            return InvalidState(text)
        if status < 500:
            return InvalidArgument(text)
        return BackendUnavailable(f"{self._where()} failed: {text}")

    def _connection_error(self, e: Exception) -> Drmaa2Error:
        if isinstance(e, TimeoutError) or "Timeout" in type(e).__name__:
            return BackendUnavailable(f"{self._where()} did not answer within {TIMEOUT:g} s")
        cause = _os_error(e)
        if isinstance(cause, PermissionError):
            return DeniedByDrms(
                f"permission denied on {self._where()}; {self.access} or set {self.variable}"
            )
        if cause is not None:
            hint = "" if self._from_env else f" (is {self.daemon} running? set {self.variable} for another engine)"
            return BackendUnavailable(f"cannot reach {self._where()}: {cause.strerror or cause}{hint}")
        return BackendUnavailable(f"{self._where()}: {_first_line(str(e)) or type(e).__name__}")


def _q(name: str) -> str:
    return quote(name, safe="/:@")


def _message(resp: Body) -> str:
    """The engine's error message ({"message": ...}) from an error response, which it closes."""
    try:
        raw = resp.read()
    except Exception:
        raw = b""
    finally:
        resp.close()
    try:
        return str(json.loads(raw)["message"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace")


def _os_error(e: BaseException) -> OSError | None:
    """The OSError (no such socket, refused, permission) itself or inside the SDK's wrapped errors."""
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

"""HTTP to the Docker engine: the standard library for unix sockets and plain TCP, the docker SDK otherwise.

Importing the SDK (requests, urllib3) costs ~90 ms of CPU on every drmaa2 call that touches a docker job;
``http.client`` is already loaded. The SDK stays the transport for engines only it can reach (TLS with
DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, ssh://) and for pulls (registry credentials from the docker config).
Both transports speak raw engine API paths (``/v1.41/containers/json``) and return a ``Body``.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

LOCAL_SCHEMES = ("unix", "http+unix")


class Body(Protocol):
    """A response body being read: all of it, a line at a time (events, pull), or n bytes (log frames)."""

    def read(self, n: int = -1) -> bytes: ...

    def readline(self) -> bytes: ...

    def close(self) -> None: ...


class Transport(Protocol):
    def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None
    ) -> tuple[int, Body]:
        """Send one request; (status, body). Raises OSError (or the SDK's errors) when the engine cannot be
        reached."""
        ...


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _Response:
    """An http.client response that closes its connection with it (one connection per request: on a unix
    socket a connection costs ~0.1 ms, and no pool has to be kept right across streams)."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn, self._resp = conn, resp

    def read(self, n: int = -1) -> bytes:
        return self._resp.read() if n < 0 else self._resp.read(n)

    def readline(self) -> bytes:
        return self._resp.readline()

    def close(self) -> None:
        self._resp.close()
        self._conn.close()


class SocketTransport:
    """An engine at unix://PATH or tcp://HOST:PORT (no TLS), through http.client."""

    def __init__(self, address: str) -> None:
        url = urlparse(address)
        self._unix = url.path if url.scheme in LOCAL_SCHEMES else None
        self._host, self._port = url.hostname or "localhost", url.port or 2375

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._unix is not None:
            return _UnixConnection(self._unix, timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None
    ) -> tuple[int, Body]:
        conn = self._connection(timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers))
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        return resp.status, _Response(conn, resp)


class _RequestsBody:
    def __init__(self, resp: Any) -> None:
        self._resp = resp

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._resp.raw.read() if n < 0 else self._resp.raw.read(n)
        return data or b""

    def readline(self) -> bytes:
        line: bytes = self._resp.raw.readline()
        return line

    def close(self) -> None:
        self._resp.close()


class SdkTransport:
    """Any engine the docker SDK can reach (TLS, ssh://), through its configured requests session."""

    def __init__(self, sdk_kwargs: Mapping[str, Any], timeout: float, version: str) -> None:
        import docker

        # A given version: the client must not ask the engine. Our paths carry their own; ``version`` is for
        # the SDK's own calls (pull).
        self.api = docker.APIClient(version=version, timeout=timeout, **sdk_kwargs)

    def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None
    ) -> tuple[int, Body]:
        resp = self.api.request(
            method, self.api.base_url + path, data=body, headers=dict(headers), stream=True, timeout=timeout
        )
        return int(resp.status_code), _RequestsBody(resp)


def needs_sdk(address: str, environ: Mapping[str, str]) -> bool:
    """Whether only the SDK can reach the engine at ``address`` (TLS requested, or not unix/tcp/http)."""
    scheme = urlparse(address).scheme
    if scheme in LOCAL_SCHEMES:
        return False
    tls = bool(environ.get("DOCKER_TLS_VERIFY") or environ.get("DOCKER_CERT_PATH"))
    return tls or scheme not in ("tcp", "http")

"""HTTP to the Docker engine: the standard library for unix sockets and plain TCP, the docker SDK otherwise.

Importing the SDK (requests, urllib3) costs ~90 ms of CPU on every drmaa2 call that touches a docker job, and
even ``http.client`` costs 12.6 ms (it imports ``ssl`` and the ``email`` package), a twentieth of a docker submit:
the engine's own API is spoken here over a plain socket, one connection per request (~0.1 ms on a unix socket).
The SDK stays the transport for engines only it can reach (TLS with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, ssh://)
and for pulls (registry credentials from the docker config). Both transports speak raw engine API paths
(``/v1.41/containers/json``) and return a ``Body``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

LOCAL_SCHEMES = ("unix", "http+unix")


class Body(Protocol):
    """A response body being read: all of it, a line at a time (events, pull), n bytes, or in blocks as they
    come (the log stream)."""

    def read(self, n: int = -1) -> bytes: ...

    def read_some(self, n: int) -> bytes:
        """Up to ``n`` bytes, what has arrived (waiting only when nothing has); b"" at the body's end."""
        ...

    def readline(self) -> bytes: ...

    def close(self) -> None: ...


class Transport(Protocol):
    def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None,
        *, unchunked: bool = False,
    ) -> tuple[int, Body]:
        """Send one request; (status, body). ``unchunked``: the body is wanted as it is sent, not in HTTP/1.1
        chunks (the engine sends one chunk per log line: ~40 bytes of framing read one at a time). Raises
        OSError (or the SDK's errors) when the engine cannot be reached."""
        ...


MAX_LINE = 65536


class Reply:
    """One HTTP/1.1 response, read from its own connection, which closes with it. The body comes with a
    Content-Length, chunked (the engine's streams: events, logs, pulls) or until the connection ends."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._file = sock.makefile("rb")
        status = self._file.readline(MAX_LINE).split(None, 2)
        if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():
            raise ConnectionError(f"the engine's answer is not HTTP: {b' '.join(status)[:80]!r}")
        self.status = int(status[1])
        headers: dict[str, str] = {}
        while (line := self._file.readline(MAX_LINE)).strip():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left = int(length) if length is not None and not self._chunked else None
        if self.status in (204, 304) or self.status < 200:
            self._left = 0
        self._chunk_left = 0
        self._ended = False
        self._pending = b""  # read from the body by readline, not handed out yet

    def _next(self, n: int) -> bytes:
        """Up to ``n`` bytes of the body as they come; b"" at its end."""
        if self._ended:
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                size = int(self._file.readline(MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self._file.readline(MAX_LINE).strip():
                        pass  # trailers
                    self._ended = True
                    return b""
                self._chunk_left = size
            data = self._file.read(min(n, self._chunk_left))
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and data:
                self._file.readline(MAX_LINE)  # the CRLF that ends a chunk
        elif self._left is not None:
            data = self._file.read(min(n, self._left)) if self._left else b""
            self._left -= len(data)
        else:
            data = self._file.read1(n)
        if not data:
            self._ended = True
        return data

    def read(self, n: int = -1) -> bytes:
        """The rest of the body (``n`` < 0), or ``n`` bytes of it (fewer only at its end)."""
        out = [self._pending]
        have = len(self._pending)
        while n < 0 or have < n:
            data = self._next(MAX_LINE if n < 0 else n - have)
            if not data:
                break
            out.append(data)
            have += len(data)
        joined = b"".join(out)
        if n < 0:
            self._pending = b""
            return joined
        self._pending = joined[n:]
        return joined[:n]

    def read_some(self, n: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self._next(n)

    def readline(self) -> bytes:
        while b"\n" not in self._pending:
            data = self._next(MAX_LINE)
            if not data:
                break
            self._pending += data
        line, sep, self._pending = self._pending.partition(b"\n")
        return line + sep

    def close(self) -> None:
        self._file.close()
        self._sock.close()


class SocketTransport:
    """An engine at unix://PATH or tcp://HOST:PORT (no TLS), over a socket of its own per request."""

    def __init__(self, address: str) -> None:
        url = urlparse(address)
        self._unix = url.path if url.scheme in LOCAL_SCHEMES else None
        self._host, self._port = url.hostname or "localhost", url.port or 2375

    def _connect(self, timeout: float | None) -> socket.socket:
        if self._unix is None:
            return socket.create_connection((self._host, self._port), timeout=timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self._unix)
        except BaseException:
            sock.close()
            raise
        return sock

    def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None,
        *, unchunked: bool = False,
    ) -> tuple[int, Body]:
        host = "localhost" if self._unix is not None else f"{self._host}:{self._port}"
        # HTTP/1.0: the server cannot chunk the body, which then ends with the connection (Reply reads both).
        version = "1.0" if unchunked else "1.1"
        head = [f"{method} {path} HTTP/{version}", f"Host: {host}", "Accept-Encoding: identity",
                "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body or b'')}")
        sock = self._connect(timeout)
        try:
            sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + (body or b""))
            reply = Reply(sock)
        except BaseException:
            sock.close()
            raise
        return reply.status, reply


    def hijack(self, path: str, timeout: float | None) -> socket.socket:
        """``POST path`` upgraded to a raw stream (the engine's attach): the socket, past the engine's
        answer. Raises ConnectionError when the engine does not switch protocols."""
        host = "localhost" if self._unix is not None else f"{self._host}:{self._port}"
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: Upgrade", "Upgrade: tcp",
                "Content-Length: 0"]
        sock = self._connect(timeout)
        try:
            sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:  # byte by byte: nothing of the stream after it is taken
                byte = sock.recv(1)
                if not byte or len(answer) > MAX_LINE:
                    raise ConnectionError("the engine closed the attach")
                answer += byte
            status = answer.split(None, 2)[1:2]
            if status not in ([b"101"], [b"200"]):
                raise ConnectionError(f"the engine refused the attach: {answer.splitlines()[0]!r}")
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return sock


class Stream:
    """A hijacked connection read as a ``Body`` (the engine's attach: multiplexed frames until it closes).
    With ``writable``, the container's input is attached too (``docker run -i``'s one connection): ``input``
    gives it, and its end of file is the connection's half-close."""

    def __init__(self, sock: socket.socket, writable: bool = False) -> None:
        self._sock = sock
        self._writable = writable

    def input(self) -> _Input:
        """The write half, for the job's standard input; closing it closes the connection."""
        if not self._writable:
            raise ValueError("this stream carries no input")
        return _Input(self._sock)

    def read(self, n: int = -1) -> bytes:
        raise NotImplementedError("a stream is read in blocks")

    def read_some(self, n: int) -> bytes:
        return self._sock.recv(n)

    def readline(self) -> bytes:
        raise NotImplementedError("a stream is read in blocks")

    def close(self) -> None:
        if self._writable:
            # Only the reading half ends here: the job's input stays open until its writer gives it its end
            # (a `run` interrupted while reading keeps the container's input open while it stops the job), and
            # the socket is closed by the input's own close, since a closed number could be reused under a
            # writer still at work (the engine closes the connection when the container ends).
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RD)
            return
        self._sock.close()


class _Input:
    """The input half of a ``Stream`` (a ``StdinSink``)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data: bytes, /) -> None:
        self._sock.sendall(data)

    def shutdown(self, how: int, /) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()


class _RequestsBody:
    def __init__(self, resp: Any) -> None:
        self._resp = resp

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._resp.raw.read() if n < 0 else self._resp.raw.read(n)
        return data or b""

    def read_some(self, n: int) -> bytes:
        raw = self._resp.raw
        data: bytes = raw.read1(n) if hasattr(raw, "read1") else raw.read(n)
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
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float | None,
        *, unchunked: bool = False,
    ) -> tuple[int, Body]:
        # ``unchunked`` is not asked of requests, which speaks HTTP/1.1 only.
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


#: How much of a log stream is read at once: a block holds thousands of short lines.
LOG_BLOCK = 1 << 20
_FRAME_HEADER = struct.Struct(">B3xI")


def demultiplex(body: Body) -> Iterator[tuple[int, bytes]]:
    """The engine's multiplexed log stream (frames of an 8-byte header -- stream, 0, 0, 0, size -- and the
    payload) as (stream, bytes), read in large blocks: the engine writes one frame per line, and reading a
    line at a time cost more than the container took to write it. A frame cut short by the end of the body
    gives what it holds."""
    header = _FRAME_HEADER.unpack_from
    rest = b""
    while data := body.read_some(LOG_BLOCK):
        buf = rest + data if rest else data
        end, pos, stream = len(buf), 0, -1
        parts: list[bytes] = []
        # Per frame as little as can be: one unpack, one slice (of bytes: a memoryview's costs more).
        while pos + 8 <= end:
            kind, size = header(buf, pos)
            stop = pos + 8 + size
            if stop > end:
                break
            if kind != stream:
                if parts:
                    yield stream, b"".join(parts)
                    parts = []
                stream = kind
            parts.append(buf[pos + 8:stop])
            pos = stop
        if parts:
            yield stream, b"".join(parts)
        rest = buf[pos:]
    if len(rest) > 8:
        yield rest[0], rest[8:]

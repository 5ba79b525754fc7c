"""Where the server listens, safely by default: a loopback address, or a unix socket only its user may open
(0600); another address only with TLS, unless the user says ``--insecure`` on purpose."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything


def check_address(host: str, tls: bool, insecure: bool) -> None:
    """Refuse a non-loopback address without TLS, unless ``insecure``."""
    if not is_loopback(host) and not tls and not insecure:
        raise InvalidArgument(f"--host {host} is not a loopback address: serving it needs --tls-cert and "
                              "--tls-key (or --insecure, on purpose: tokens would cross the network in clear)")


def unix_socket(path: Path) -> socket.socket:
    """A listening unix socket at ``path``, 0600 from its creation (the umask covers the bind), replacing a
    socket left by a server that died; any other file there is refused."""
    if path.exists() or path.is_symlink():
        if not path.is_socket():
            raise InvalidArgument(f"--socket {path}: exists and is not a socket")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as e:
        sock.close()
        raise InvalidArgument(f"--socket {path}: {e.strerror}") from None
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return sock


def tcp_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (bound here, so that the address is known before the
    server says it is ready, and a port in use is one clear error)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=1024, reuse_port=False)
    except OSError as e:
        raise InvalidArgument(f"cannot listen on {host}:{port}: {e.strerror}") from None


def serve(app: Any, host: str, port: int, socket_path: Path | None, tls_cert: str | None, tls_key: str | None,
          insecure: bool, ready: Callable[[str], None]) -> None:
    """Run the server until interrupted; ``ready`` is told where it listens."""
    import uvicorn

    if bool(tls_cert) != bool(tls_key):
        raise InvalidArgument("--tls-cert and --tls-key go together")
    for given in (tls_cert, tls_key):
        if given and not os.access(given, os.R_OK):
            raise InvalidArgument(f"cannot read {given}")
    if socket_path is not None:
        sock = unix_socket(socket_path)
        where = f"unix:{socket_path}"
    else:
        check_address(host, bool(tls_cert), insecure)
        sock = tcp_socket(host, port)
        port = sock.getsockname()[1]  # --port 0: the one the system chose
        where = f"{'https' if tls_cert else 'http'}://{host if ':' not in host else f'[{host}]'}:{port}"
    config = uvicorn.Config(app, host=host, port=port, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                            http="h11", loop="asyncio", lifespan="on", log_level="warning",
                            timeout_keep_alive=15, timeout_graceful_shutdown=5,
                            limit_concurrency=4096, h11_max_incomplete_event_size=64 * 1024)
    server = uvicorn.Server(config)
    ready(where)
    try:
        server.run(sockets=[sock])
    finally:
        if socket_path is not None:
            socket_path.unlink(missing_ok=True)

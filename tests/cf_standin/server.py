"""The stand-in's HTTP side: Cloud Controller v3 task routes, UAA's /oauth/token and log-cache's read API on
one local port (``/v3``, ``/login`` and ``/uaa``, ``/log-cache``), plus injectable faults and a request log.

Tests drive it in-process (``StandIn``) or over HTTP (``/_standin/faults``, ``/_standin/requests``) when it
runs as ``python -m tests.cf_standin``.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import routes
from .world import ApiProblem, World


@dataclass
class Fault:
    """One injected failure for requests whose method matches and whose path (with query) matches the
    ``path`` regex. ``kind``: "429" (with Retry-After), "500"/"502"/"503", "reset" (TCP RST, no response)
    or "slow" (``delay`` seconds, then the normal answer). ``when="after"`` processes the request first and
    replaces its answer: a create that happened although the client saw an error."""

    method: str
    path: str
    kind: str
    count: int = 1
    retry_after: float = 1.0
    delay: float = 1.0
    when: str = "before"


@dataclass
class Request:
    time: float
    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int | None = None
    fault: str | None = None

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)


class _Reset(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and delayed ACKs add ~40 ms per answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the record; stderr stays quiet under pytest

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        standin = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = Request(
            time.time(), self.command, self.path, dict(self.headers.items()), body.decode("utf-8", "replace")
        )
        standin.record(record)
        fault = standin.take_fault(self.command, self.path)
        try:
            if fault is not None and fault.when == "before":
                self._fault(fault, record)
                if fault.kind != "slow":
                    return
            status, headers, payload = self._answer(body)
            if fault is not None and fault.when == "after":
                self._fault(fault, record)
                if fault.kind != "slow":
                    return
            record.status = status
            self._send(status, headers, payload)
        except _Reset:
            pass

    def _answer(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            return routes.dispatch(self.server.standin, self.command, self.path, dict(self.headers.items()), body)
        except ApiProblem as p:
            doc = {"errors": [{"code": p.code, "title": p.title, "detail": p.detail}]}
            return p.status, {}, json.dumps(doc).encode()

    def _fault(self, fault: Fault, record: Request) -> None:
        record.fault = fault.kind
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return
        if fault.kind == "reset":
            # SO_LINGER 0 makes close() send RST: the client sees a reset connection, no response at all.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            raise _Reset
        status = int(fault.kind)
        titles = {
            429: (10013, "CF-RateLimitExceeded", "Rate Limit Exceeded"),
            500: (10001, "CF-ServerError", "An unknown error occurred."),
            502: (10001, "CF-ServerError", "Bad gateway"),
            503: (10015, "CF-ServiceUnavailable", "Service unavailable"),
        }
        code, title, detail = titles.get(status, (10001, "CF-ServerError", "fault"))
        headers = {"Retry-After": f"{fault.retry_after:g}"} if status == 429 else {}
        record.status = status
        self._send(
            status,
            headers,
            json.dumps({"errors": [{"code": code, "title": title, "detail": detail}]}).encode(),
        )
        raise _Reset  # the response is sent; skip the normal one

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        self.send_header("X-Vcap-Request-Id", f"{uuid.uuid4()}::{uuid.uuid4()}")
        if payload:
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=utf-8"))
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandIn


@dataclass
class StandIn:
    """A local Cloud Foundry (API, UAA, log-cache) on 127.0.0.1, random port unless ``port`` is given.

    ``envelope_style`` picks the protojson shape of log envelopes: "string" (timestamp as a string, type
    as "OUT"/"ERR") or "numeric" (timestamp as a number, type as 1 for ERR and omitted for OUT, as
    protojson does for zero enum values)."""

    host: str = "127.0.0.1"
    port: int = 0
    envelope_style: str = "string"
    world: World = field(default_factory=World)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> StandIn:
        self._server = _Server((self.host, self.port), Handler)
        self._server.standin = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="cf-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.world.shutdown()

    # --- faults and the request log -----------------------------------------------------------------
    def add_fault(self, method: str, path: str, kind: str, **options: Any) -> Fault:
        fault = Fault(method.upper(), path, kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fault.method == method and re.search(fault.path, path):
                    fault.count -= 1
                    return fault
        return None

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, method: str, route_regex: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and re.search(route_regex, r.route)]

    def requests_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self.requests]

    # --- logins for tests ---------------------------------------------------------------------------
    def login(self, user: str = "user", ttl: float | None = None) -> dict[str, Any]:
        """A password-grant token response, as `cf login` would have received it."""
        return self.world.issue({"user_name": user, "client_id": "cf"}, ttl=ttl)

    def cf_config(self, space: str = "dev", ttl: float | None = None, **overrides: Any) -> dict[str, Any]:
        """A cf CLI config.json document logged in as "user" and targeting org "org" and ``space``."""
        tokens = self.login(ttl=ttl)
        space_guid, org_guid = next((g, o) for g, (n, o) in self.world.spaces.items() if n == space)
        doc: dict[str, Any] = {
            "ConfigVersion": 3,
            "Target": self.url,
            "APIVersion": "3.150.0",
            "AuthorizationEndpoint": f"{self.url}/login",
            "DopplerEndPoint": "",
            "UaaEndpoint": f"{self.url}/uaa",
            "RoutingAPIEndpoint": "",
            "LogCacheEndPoint": f"{self.url}/log-cache",
            "AccessToken": f"bearer {tokens['access_token']}",
            "SSHOAuthClient": "ssh-proxy",
            "UAAOAuthClient": "cf",
            "UAAOAuthClientSecret": "",
            "UAAGrantType": "",
            "RefreshToken": tokens["refresh_token"],
            "OrganizationFields": {
                "GUID": org_guid,
                "Name": self.world.orgs[org_guid],
                "QuotaDefinition": {},
            },
            "SpaceFields": {"GUID": space_guid, "Name": space, "AllowSSH": True},
            "SSLDisabled": False,
            "AsyncTimeout": 0,
            "Trace": "",
            "ColorEnabled": "",
            "Locale": "",
            "PluginRepos": [{"Name": "CF-Community", "URL": "https://plugins.cloudfoundry.org"}],
            "MinCLIVersion": "7.0.0",
            "MinRecommendedCLIVersion": "7.0.0",
        }
        doc.update(overrides)
        return doc


def basic_auth(headers: dict[str, str]) -> tuple[str, str] | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, data = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    user, _, password = base64.b64decode(data).decode().partition(":")
    return user, password

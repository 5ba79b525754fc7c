"""What the stand-in Cloud Foundry knows: orgs, spaces, apps, tasks, log envelopes and tokens.

Tasks really run: each one is ``sh -c COMMAND`` in its own process group, so exit statuses and output are
real. Behaviour follows the CF v3 API reference, "Tasks" (https://v3-apidocs.cloudfoundry.org/#tasks: states
PENDING, RUNNING, CANCELING, SUCCEEDED, FAILED, the failure reasons, cancel, sequence ids) and log-cache's
envelopes (https://github.com/cloudfoundry/log-cache-release: source types APP/TASK/NAME and CELL);
everything is guarded by one lock because the HTTP server is threaded.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TASK_KEYS = frozenset(
    {
        "name",
        "command",
        "disk_in_mb",
        "memory_in_mb",
        "log_rate_limit_in_bytes_per_second",
        "droplet_guid",
        "template",
        "user",
        "metadata",
    }
)
FINAL = ("SUCCEEDED", "FAILED")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


class ApiProblem(Exception):
    """A Cloud Controller error response: HTTP status, code, title and detail."""

    def __init__(self, status: int, code: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, 10010, "CF-ResourceNotFound", f"{what} not found")


def unprocessable(detail: str) -> ApiProblem:
    return ApiProblem(422, 10008, "CF-UnprocessableEntity", detail)


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class App:
    guid: str
    name: str
    space_guid: str
    droplet_guid: str | None
    next_sequence: int = 1


@dataclass
class Task:
    guid: str
    app: App
    sequence_id: int
    name: str
    command: str
    memory_in_mb: int
    disk_in_mb: int
    user: str | None
    labels: dict[str, str]
    created: float
    state: str = "RUNNING"
    failure_reason: str | None = None
    updated: float = 0.0
    process: subprocess.Popen[bytes] | None = None
    cancelled: bool = False


#: The variable every process of a task inherits, wherever it moves in the process tree: what stands in for the
#: container that holds them all on a real Cloud Foundry.
CONTAINER_MARK = "CF_STANDIN_CONTAINER"


def end_container(guid: str) -> None:
    """SIGKILL every process of the task ``guid`` (those whose environment carries its mark)."""
    mark = f"{CONTAINER_MARK}={guid}".encode()
    for _ in range(50):  # a process may fork while it is being looked for: look until none is left
        found = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if mark not in f.read().split(b"\0"):
                        continue
                os.kill(int(pid), signal.SIGKILL)
                found += 1
            except OSError:
                pass
        if not found:
            return
        time.sleep(0.02)


@dataclass
class Envelope:
    timestamp: int  # ns
    source_id: str
    source_type: str
    stream: str  # OUT | ERR
    payload: bytes
    visible_at: float = 0.0  # time.time() from which log-cache serves it (log delivery lags)


@dataclass
class World:
    """The state behind every endpoint. ``token_ttl`` is the lifetime of issued access tokens (short, so
    tests meet expiry); ``pending_seconds`` keeps new tasks PENDING that long before they run;
    ``cancel_delay``/``cancel_grace`` shape a cancel (CANCELING for a while, SIGTERM, then SIGKILL);
    ``log_lag`` delays each log line's arrival in log-cache, as the real log pipeline does."""

    token_ttl: float = 120.0
    pending_seconds: float = 0.0
    cancel_delay: float = 0.1
    cancel_grace: float = 2.0
    log_lag: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    users: dict[str, str] = field(default_factory=lambda: {"user": "pass"})
    clients: dict[str, str] = field(default_factory=lambda: {"cf": "", "ci-client": "ci-secret"})
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    reject_all_tokens: bool = False
    issued: list[str] = field(default_factory=list)
    orgs: dict[str, str] = field(default_factory=dict)  # guid -> name
    spaces: dict[str, tuple[str, str]] = field(default_factory=dict)  # guid -> (name, org guid)
    apps: dict[str, App] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    envelopes: list[Envelope] = field(default_factory=list)
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="cf-standin-"))

    def __post_init__(self) -> None:
        org = self.add_org("org")
        space = self.add_space("dev", org)
        self.add_app("worker", space)
        self.add_app("nodroplet", space, droplet=False)
        other = self.add_space("prod", org)
        self.add_app("worker", other)

    # --- seeding ------------------------------------------------------------------------------------
    def add_org(self, name: str) -> str:
        guid = str(uuid.uuid4())
        self.orgs[guid] = name
        return guid

    def add_space(self, name: str, org_guid: str) -> str:
        guid = str(uuid.uuid4())
        self.spaces[guid] = (name, org_guid)
        return guid

    def add_app(self, name: str, space_guid: str, droplet: bool = True) -> App:
        app = App(str(uuid.uuid4()), name, space_guid, str(uuid.uuid4()) if droplet else None)
        self.apps[app.guid] = app
        return app

    def find_app(self, name: str, space_name: str = "dev") -> App:
        for app in self.apps.values():
            if app.name == name and self.spaces[app.space_guid][0] == space_name:
                return app
        raise KeyError(name)

    # --- tokens -------------------------------------------------------------------------------------
    def issue(
        self, subject: dict[str, Any], ttl: float | None = None, with_refresh: bool = True
    ) -> dict[str, Any]:
        """A UAA token response for ``subject`` ({"user_name": ...} or {"client_id": ...})."""
        now = time.time()
        ttl = self.token_ttl if ttl is None else ttl
        claims = {
            "jti": uuid.uuid4().hex,
            "iat": int(now),
            "exp": int(now + ttl),
            "iss": "standin/uaa",
            "scope": ["cloud_controller.read", "cloud_controller.write", "openid"],
            **subject,
        }
        head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        sig = b64url(hmac.new(self.secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        token = f"{head}.{body}.{sig}"
        reply: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(ttl),
            "scope": " ".join(claims["scope"]),
            "jti": claims["jti"],
        }
        with self.lock:
            self.issued.append(token)
            if with_refresh:
                refresh = secrets.token_hex(16) + "-r"
                self.refresh_tokens[refresh] = dict(subject)
                self.issued.append(refresh)
                reply["refresh_token"] = refresh
        return reply

    def check_token(self, header: str | None) -> None:
        """Raises ApiProblem 401 unless ``header`` carries a valid, unexpired bearer token."""
        if not header:
            raise ApiProblem(401, 10002, "CF-NotAuthenticated", "Authentication error")
        scheme, _, token = header.partition(" ")
        parts = token.split(".")
        invalid = ApiProblem(401, 1000, "CF-InvalidAuthToken", "Invalid Auth Token")
        if scheme.lower() != "bearer" or len(parts) != 3 or self.reject_all_tokens:
            raise invalid
        expected = b64url(hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            raise invalid
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        if claims["exp"] <= time.time() or claims["jti"] in self.revoked:
            raise invalid

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is refused from now on (their exp claims stay valid)."""
        with self.lock:
            for token in self.issued:
                if token.count(".") == 2:
                    body = token.split(".")[1]
                    self.revoked.add(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["jti"])

    # --- tasks --------------------------------------------------------------------------------------
    def create_task(self, app_guid: str, body: Any) -> Task:
        """POST /v3/apps/:guid/tasks; raises ApiProblem 404/422 as the Cloud Controller does."""
        if not isinstance(body, dict):
            raise unprocessable("Request invalid due to parse error: invalid request body")
        unknown = sorted(set(body) - TASK_KEYS)
        if unknown:
            raise unprocessable("Unknown field(s): " + ", ".join(f"'{k}'" for k in unknown))
        with self.lock:
            app = self.apps.get(app_guid)
            if app is None:
                raise not_found("App")
            for key in ("memory_in_mb", "disk_in_mb"):
                value = body.get(key)
                if value is not None and (type(value) is not int or value <= 0):
                    raise unprocessable(f"{key.replace('_', ' ').capitalize()} must be greater than 0")
            command = body.get("command")
            if not isinstance(command, str) or not command:
                raise unprocessable("Command can't be blank")
            name = body.get("name") or secrets.token_hex(4)
            if not isinstance(name, str):
                raise unprocessable("Name must be a string")
            labels = (body.get("metadata") or {}).get("labels") or {}
            for key, value in labels.items():
                if not _LABEL.match(key) or not (value == "" or _LABEL.match(str(value))):
                    raise unprocessable(f"Metadata label key or value error: '{key}' / '{value}'")
            if app.droplet_guid is None:
                raise unprocessable("Task must have a droplet. Assign a current droplet to the app.")
            now = time.time()
            task = Task(
                str(uuid.uuid4()),
                app,
                app.next_sequence,
                name,
                command,
                body.get("memory_in_mb") or 1024,
                body.get("disk_in_mb") or 1024,
                body.get("user"),
                dict(labels),
                now,
                updated=now,
            )
            app.next_sequence += 1
            self.tasks[task.guid] = task
            self.log(app.guid, "CELL", "OUT", f"Cell standin-0 creating container for instance {task.guid}")
            if self.pending_seconds > 0:
                task.state = "PENDING"
                threading.Timer(self.pending_seconds, self._launch, (task,)).start()
            else:
                self._launch(task)
        return task

    def _launch(self, task: Task) -> None:
        with self.lock:
            if task.state in FINAL:
                return
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": self.workdir,
                "LANG": "C.UTF-8",
                CONTAINER_MARK: task.guid,
                "VCAP_APPLICATION": json.dumps(
                    {"application_id": task.app.guid, "application_name": task.app.name}
                ),
            }
            task.process = subprocess.Popen(
                ["sh", "-c", task.command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
            task.state, task.updated = "RUNNING", time.time()
        source = f"APP/TASK/{task.name}"
        assert task.process.stdout is not None and task.process.stderr is not None
        readers = [
            threading.Thread(target=self._pump, args=(task, pipe, source, kind), daemon=True)
            for pipe, kind in ((task.process.stdout, "OUT"), (task.process.stderr, "ERR"))
        ]
        for r in readers:
            r.start()
        threading.Thread(target=self._reap, args=(task, readers, source), daemon=True).start()

    def _pump(self, task: Task, pipe: Any, source: str, kind: str) -> None:
        # Diego turns each line into one envelope, without its newline.
        for line in pipe:
            self.log(task.app.guid, source, kind, line.rstrip(b"\n"))
        pipe.close()

    def _reap(self, task: Task, readers: list[threading.Thread], source: str) -> None:
        assert task.process is not None
        code = task.process.wait()
        # The container goes away with its main process: stragglers holding the pipes die with it, the
        # daemonised and `setsid` ones too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(task.process.pid, signal.SIGKILL)
        end_container(task.guid)
        for r in readers:
            r.join()
        status = code if code >= 0 else 128 - code
        self.log(task.app.guid, source, "OUT", f"Exit status {status}")
        with self.lock:
            if task.cancelled:
                task.state, task.failure_reason = "FAILED", "task was cancelled"
            elif status == 0:
                task.state = "SUCCEEDED"
            else:
                task.state, task.failure_reason = "FAILED", f"{source}: Exited with status {status}"
            task.updated = time.time()

    def cancel_task(self, guid: str) -> Task:
        """POST /v3/tasks/:guid/actions/cancel: CANCELING now, FAILED "task was cancelled" once it ends."""
        with self.lock:
            task = self.tasks.get(guid)
            if task is None:
                raise not_found("Task")
            if task.state in FINAL:
                raise unprocessable(f"Task state is {task.state} and therefore cannot be canceled")
            task.cancelled = True
            if task.state == "PENDING" and task.process is None:
                task.state, task.failure_reason, task.updated = "FAILED", "task was cancelled", time.time()
                return task
            task.state, task.updated = "CANCELING", time.time()
        threading.Thread(target=self._kill, args=(task,), daemon=True).start()
        return task

    def _kill(self, task: Task) -> None:
        time.sleep(self.cancel_delay)
        for sig, pause in ((signal.SIGTERM, self.cancel_grace), (signal.SIGKILL, 0.0)):
            proc = task.process
            if proc is None or proc.poll() is not None:
                return
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + pause
            while pause and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)

    def log(self, source_id: str, source_type: str, stream: str, payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        with self.lock:
            # Strictly increasing timestamps keep log-cache's paging by start_time exact.
            ts = time.time_ns()
            if self.envelopes and ts <= self.envelopes[-1].timestamp:
                ts = self.envelopes[-1].timestamp + 1
            self.envelopes.append(Envelope(ts, source_id, source_type, stream, data, time.time() + self.log_lag))

    def shutdown(self) -> None:
        """Kill every task still running (the stand-in is going away)."""
        with self.lock:
            procs = [t.process for t in self.tasks.values() if t.process is not None]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

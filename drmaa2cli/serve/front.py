"""The remote front of every command: a ``Service`` whose every operation goes to a `drmaa2 serve` server
(``DRMAA2_REMOTE`` and ``DRMAA2_REMOTE_TOKEN``, or ``[remote] url`` and ``token_file`` in the config), with no
local record. Commands are unchanged: they get this Service from ``commands._service.service`` and render what
it returns as they render local jobs, and the server's errors are raised as the same ``Drmaa2Error``s, so every
exit code is the local one."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import config
from ..backends.remote.client import Client, closing
from ..backends.remote.convert import job_from_public
from ..core.control import Control
from ..errors import DeniedByDrms, InvalidArgument, UnsupportedOperation, WaitTimeout
from ..models import ArraySpec, JobInfo, JobState, JobTemplate
from ..service import Service

if TYPE_CHECKING:
    from ..core.sessions import SessionSummary
    from ..monitoring import MachineInfo, PlatformJob, QueueInfo

ENV_URL = "DRMAA2_REMOTE"
ENV_TOKEN = "DRMAA2_REMOTE_TOKEN"
#: Template fields the server never takes from a client (its own configuration decides them).
_LOCAL_ONLY = ("notify_command",)


def remote_of(settings: config.Settings, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The server every command goes to, and its token: the environment's, else the config file's
    ``[remote]``; None when there is none."""
    url = environ.get(ENV_URL) or settings.remote.get("url")
    if not url:
        return None
    token = environ.get(ENV_TOKEN)
    if token is None and settings.remote.get("token_file"):
        token = read_token_file(Path(os.path.expanduser(settings.remote["token_file"])))
    if not token:
        raise DeniedByDrms(f"no token for the drmaa2 server at {url}: set {ENV_TOKEN} or [remote] token_file")
    return url, token


def read_token_file(path: Path) -> str:
    """The token in ``path``, which only its owner may read (as ssh insists of a private key)."""
    try:
        st = path.stat()
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise InvalidArgument(f"token file {path} may be read by others (chmod 600 {path})")
        return path.read_text().strip()
    except OSError as e:
        raise InvalidArgument(f"cannot read token file {path}: {e.strerror}") from None


def array_text(array: ArraySpec) -> str:
    """``array`` as sbatch writes it (what the server's parser reads)."""
    body = (",".join(map(str, array.only)) if array.only is not None
            else f"{array.first}-{array.last}:{array.step}")
    return body + ("" if array.max_parallel is None else f"%{array.max_parallel}")


def _jobs(document: Mapping[str, Any]) -> list[JobInfo]:
    return [job_from_public(j) for j in document.get("jobs", [])]


class RemoteService(Service):
    """A Service whose jobs live on a `drmaa2 serve` server."""

    def __init__(self, settings: config.Settings, url: str, token: str,
                 warn: Callable[[str], None] | None = None) -> None:
        super().__init__(settings, warn=warn)
        self.client = closing(Client(url, token))

    def _said(self, document: Mapping[str, Any]) -> list[JobInfo]:
        for text in document.get("warnings", []):
            self._ctx.warn(f"server: {text}")
        return _jobs(document)

    def _given(self, key: str, value: str | None) -> str | None:
        """The session or backend to send: the one given, else this command's own unless it is only the
        built-in default (then the server's configuration decides)."""
        if value:
            return value
        return None if self.settings.sources.get(key) == "default" else self.settings.values[key]

    # --- submission and queries ---------------------------------------------------------------------------
    def submit_jobs(self, template: JobTemplate, session: str | None = None, backend: str | None = None,
                    array: ArraySpec | None = None, after: Sequence[str] = (),
                    after_mode: str = "ok") -> list[JobInfo]:
        scripts = str(self.settings.home / "scripts") + os.sep
        if any(word.startswith(scripts) for word in template.argv):
            raise UnsupportedOperation("a job script file cannot be sent to a drmaa2 server yet: its copy is "
                                       "kept on this machine (the server's API takes a script's text)")
        data = {k: v for k, v in template.to_dict().items() if k not in _LOCAL_ONLY}
        body: dict[str, Any] = {"template": data, "session": self._given("session", session),
                                "backend": self._given("backend", backend), "after": list(after),
                                "after_mode": after_mode}
        if array is not None:
            body["array"] = array_text(array)
        return self._said(self.client.submit(body))

    def jobs(self, ids: Iterable[str]) -> list[JobInfo]:
        found: dict[str, JobInfo] = {}
        for job_id in ids:
            for job in self._said(self.client.get(f"/v1/jobs/{job_id.strip()}")):
                found[job.id] = job
        return list(found.values())

    def resolve_ids(self, ids: Iterable[str]) -> list[JobInfo]:
        return self.jobs(ids)

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        return self.jobs([j.id for j in jobs])

    def list_jobs(self, session: str | None = None, states: set[JobState] | None = None, name: str | None = None,
                  limit: int | None = 100) -> tuple[list[JobInfo], bool]:
        found = self.client.get("/v1/jobs", session=session, name=name, limit=limit or 0,
                                state=",".join(sorted(s.value for s in states)) if states else None)
        return self._said(found), bool(found.get("truncated"))

    def wait(self, ids: Sequence[str], timeout: float | None = None, any_job: bool = False,
             on_progress: Callable[[list[JobInfo]], None] | None = None) -> list[JobInfo]:
        """As ``Query.wait``, through the server's long-poll: each job's turn ends when it does; with
        ``any_job`` and several jobs the turns are short, so that whichever ends first is seen."""
        deadline = None if timeout is None else time.monotonic() + timeout
        named = list(dict.fromkeys(i.strip() for i in ids))
        latest: dict[str, list[JobInfo]] = {}
        while True:
            for job_id in named:
                if job_id in latest and all(j.state.final for j in latest[job_id]):
                    continue
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                turn = 30.0 if remaining is None else remaining
                if any_job and len(named) > 1:
                    turn = min(turn, 1.0)
                latest[job_id] = self._said(self.client.wait(job_id, turn))
                if any_job and all(j.state.final for j in latest[job_id]):
                    break
            jobs = [j for i in named if i in latest for j in latest[i]]
            if on_progress is not None:
                on_progress(jobs)
            pending = [i for i in named if not all(j.state.final for j in latest.get(i, []))]
            if not pending or (any_job and len(pending) < len(named)):
                return jobs
            if deadline is not None and deadline - time.monotonic() <= 0:
                active = [j.id for j in jobs if not j.state.final]
                raise WaitTimeout(f"timed out: {len(active)} job(s) still active ({', '.join(active[:5])})")

    def output(self, job: JobInfo, stream: str, offset: int = 0) -> bytes:
        return self.client.output(job.id, stream, offset)[0]

    def follow(self, job_id: str, streams: Sequence[str], sink: Callable[[str, bytes], None],
               poll: float = 0.1, offsets: Mapping[str, int] | None = None,
               on_update: Callable[[JobInfo], None] | None = None) -> JobInfo:
        """The job's output as it grows: one stream is followed through the server's stream, both by turns."""
        offsets = {s: (offsets or {}).get(s, 0) for s in streams}
        if len(streams) == 1:
            (stream,) = streams
            for chunk in self.client.follow(job_id, stream, offsets[stream]):
                sink(stream, chunk)
            (job,) = self.jobs([job_id])
            return job
        while True:
            (job,) = self.jobs([job_id])
            if on_update is not None:
                on_update(job)
            for stream in streams:
                data = self.client.output(job_id, stream, offsets[stream])[0]
                if data:
                    offsets[stream] += len(data)
                    sink(stream, data)
            if job.state.final:
                return job
            time.sleep(max(poll, 0.2))

    # --- control --------------------------------------------------------------------------------------------
    @cached_property
    def _control(self) -> Control:
        return _RemoteControl(self)

    def alter(self, ids: Sequence[str], name: str | None = None, priority: int | None = None,
              start_time: float | None = None, timeout: float | None = None, after: Sequence[str] | None = None,
              after_mode: str = "ok") -> list[JobInfo]:
        changes = {"name": name, "priority": priority, "start_time": start_time, "timeout": timeout,
                   "after": None if after is None else list(after), "after_mode": after_mode}
        body = {k: v for k, v in changes.items() if v is not None}
        return [j for i in ids for j in self._said(self.client.alter(i, body))]

    def requeue(self, ids: Sequence[str]) -> list[JobInfo]:
        return [j for i in ids for j in self._said(self.client.control(i, "requeue"))]

    # --- sessions, removal, the platform ------------------------------------------------------------------
    def sessions(self) -> list[SessionSummary]:
        from ..core.sessions import SessionSummary

        listed = self.client.get("/v1/sessions")["sessions"]
        return [SessionSummary(s["name"], s.get("counts", {})) for s in listed]

    def create_session(self, name: str, contact: str | None = None, exist_ok: bool = False) -> bool:
        return self.client.create_session(name, exist_ok)

    def destroy_session(self, name: str, force: bool = False) -> int:
        return self.client.destroy_session(name, force)

    def reap(self, ids: Sequence[str] = (), finished: bool = False, older_than: float | None = None,
             force: bool = False) -> int:
        if finished:
            raise UnsupportedOperation("rm --finished is not offered by a remote server: name the jobs")
        return sum(self.client.remove(i, force) for i in ids)

    def remove(self, ids: Sequence[str], session: str | None = None) -> int:
        return self.reap(ids, force=True)

    def quarantined(self) -> list[dict[str, Any]]:
        raise UnsupportedOperation("doctor looks at a local drmaa2 home, not a remote server")

    def machines(self, backend: str | None = None, names: Sequence[str] = ()) -> list[MachineInfo]:
        from ..monitoring import MachineInfo

        found = self.client.get("/v1/machines", backend=backend, name=list(names) or None)
        return [MachineInfo(**m) for m in found["machines"]]

    def queues(self, backend: str | None = None, names: Sequence[str] = ()) -> list[QueueInfo]:
        from ..monitoring import QueueInfo

        found = self.client.get("/v1/queues", backend=backend, name=list(names) or None)
        return [QueueInfo(**q) for q in found["queues"]]

    def all_jobs(self, backend: str | None = None) -> list[PlatformJob]:
        raise UnsupportedOperation("the platform's jobs are not offered by a remote server")


class _RemoteControl(Control):
    """Kill, hold, release, suspend, resume: each job named, one request each."""

    ACTIONS: ClassVar[dict[str, str]] = {"terminate": "kill"}

    def __init__(self, remote: RemoteService) -> None:
        self.remote = remote

    def apply(self, ids: Sequence[str], action: str, *args: object) -> list[JobInfo]:
        signal = args[0] if args and isinstance(args[0], int) else None
        name = self.ACTIONS.get(action, action)
        return [j for i in ids for j in self.remote._said(self.remote.client.control(i.strip(), name, signal))]

"""The Cloud Foundry backend: a job is a v3 task of an app (``--app``) in the targeted org and space.

Submission looks the app up and checks it has a droplet in ``prepare`` (so a typo or a bad login writes no
record), then creates the task in ``Launch.start``; the task guid becomes the native id. Each task carries the
label ``drmaa2-job=<home instance>-<job id>``: when a create gets no answer, the task is found by that label
instead of being created twice. States come from one batched ``GET /v3/tasks?guids=...``; the exit status is
read from ``result.failure_reason``; output is read back from log-cache.
"""

from __future__ import annotations

import base64
import re
import shlex
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ..errors import (
    BackendUnavailable,
    DeniedByDrms,
    Drmaa2Error,
    InvalidArgument,
    InvalidState,
    UnsupportedAttribute,
    UnsupportedOperation,
)
from ..models import JobInfo, JobState, JobTemplate
from . import cf_auth
from .base import Backend, BackendContext, Launch
from .cf_client import ApiError, CFClient, Http, Unreachable

LABEL = "drmaa2-job"
STATES = {
    "PENDING": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "CANCELING": JobState.RUNNING,
    "SUCCEEDED": JobState.DONE,
    "FAILED": JobState.FAILED,
}
FINAL = ("SUCCEEDED", "FAILED")
CANCELLED = "task was cancelled"
UNBORN_GRACE = 60.0  # seconds a record may lack its task before the create is taken as never sent
_EXITED = re.compile(r"Exited with status (-?\d+)")
_EXIT_LINE = re.compile(rb"Exit status (-?\d+)( \(.*\))?")
LOG_PAGE = 1000


# --- pure mappings (tested without a server) ------------------------------------------------------------
def command_line(job: JobInfo) -> str:
    """The task command: every argument quoted, so the task's shell hands the program exactly the user's
    arguments; the job id and session go in front as variables for that one command."""
    env = f"DRMAA2_JOB_ID={shlex.quote(job.id)} DRMAA2_SESSION={shlex.quote(job.session)}"
    return " ".join([env, *(shlex.quote(arg) for arg in job.template.argv)])


def failure(reason: str | None) -> tuple[int | None, str]:
    """(exit status, annotation) of a FAILED task from its ``result.failure_reason``."""
    if not reason:
        return None, "task failed (no reason given)"
    if reason.strip().lower() == CANCELLED:
        return None, CANCELLED
    m = _EXITED.search(reason)
    if m is None:
        return None, reason.strip()
    status = int(m.group(1))
    if "out of memory" in reason.lower():
        return status, f"OOM killed (exited with status {status})"
    return status, f"exited with status {status}"


def parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def task_changes(job: JobInfo, task: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The JobInfo fields that ``task`` (a v3 task resource) implies for ``job``."""
    cf_state = str(task.get("state", ""))
    state = STATES.get(cf_state, JobState.UNDETERMINED)
    created, updated = parse_time(task.get("created_at")), parse_time(task.get("updated_at"))
    changes: dict[str, Any] = {
        "state": state,
        "annotation": "cancel requested" if cf_state == "CANCELING" else None,
    }
    if state is not JobState.QUEUED and job.dispatch_time is None:
        # The create answer (no native id yet) tells the start time; a task last seen PENDING started since.
        seen_pending = job.native_id is not None and job.state is JobState.QUEUED
        dispatch = now if seen_pending or created is None else created
        if state.final and updated is not None:
            dispatch = min(dispatch, updated)
        # Cloud Foundry's times have whole seconds (and another clock): never before our own submission.
        changes["dispatch_time"] = max(dispatch, job.submission_time or dispatch)
    if state.final:
        start = changes.get("dispatch_time", job.dispatch_time) or 0.0
        changes["finish_time"] = max(updated if updated is not None else now, start)
        if state is JobState.DONE:
            changes["exit_status"] = 0
        else:
            changes["exit_status"], changes["annotation"] = failure(
                (task.get("result") or {}).get("failure_reason")
            )
    return changes


def decode_envelope(env: Mapping[str, Any]) -> tuple[int, str, str, bytes] | None:
    """(timestamp ns, source type, "OUT"/"ERR", payload) of a log envelope in either protojson shape
    (timestamp as string or number; type as name or number, omitted for OUT); None if not a log line."""
    log = env.get("log")
    if not isinstance(log, dict):
        return None
    try:
        ts = int(env.get("timestamp") or 0)
        payload = base64.b64decode(log.get("payload") or "")
    except (TypeError, ValueError):
        return None
    tags = env.get("tags")
    source = tags.get("source_type") if isinstance(tags, dict) else None
    if source is None:  # older envelopes keep tags as protobuf Values
        old = env.get("deprecated_tags")
        value = old.get("source_type") if isinstance(old, dict) else None
        source = value.get("text") if isinstance(value, dict) else None
    kind = "ERR" if log.get("type") in ("ERR", 1, "1") else "OUT"
    return ts, str(source or ""), kind, payload


def is_exit_line(payload: bytes, job: JobInfo) -> bool:
    """Whether ``payload`` is the "Exit status N" line Cloud Foundry appends to a task's output (with the
    job's own status when that is known, so a program printing such a line is less likely mistaken)."""
    m = _EXIT_LINE.fullmatch(payload)
    return m is not None and (job.exit_status is None or int(m.group(1)) == job.exit_status)


@contextmanager
def edge(context: str) -> Iterator[None]:
    """Convert the client's errors into drmaa2 errors, one line with ``context`` first."""
    try:
        yield
    except (ApiError, Unreachable) as e:
        raise e.to_drmaa2(context) from e


class CFBackend(Backend):
    """Jobs as Cloud Foundry v3 tasks. Settings (``[backends.cf]``): ``request_timeout`` (s, 30),
    ``retries`` (4), ``poll_max`` (longest pause between polls while waiting, s, 2)."""

    name = "cf"
    unsupported_fields = (
        "working_directory",
        "job_environment",
        "input_path",
        "output_path",
        "error_path",
        "stage_in_files",
        "submit_as_hold",
        "timeout",
        "queue_name",
    )

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self._target: cf_auth.Target | None = None
        self._api: CFClient | None = None
        self._space_guid: str | None = None
        self._final: dict[str, dict[str, Any]] = {}  # a final task never changes: no need to ask twice

    def _setting(self, key: str, default: float) -> float:
        value = self.ctx.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidArgument(f"[backends.cf] {key} must be a non-negative number, got {value!r}")
        return float(value)

    # --- connection -----------------------------------------------------------------------------------
    def client(self) -> CFClient:
        """The API client for the current login; raises DeniedByDrms, BackendUnavailable."""
        if self._api is None:
            target, creds = cf_auth.load(self.ctx.environ)
            http = Http(
                verify=target.verify,
                timeout=self._setting("request_timeout", 30.0),
                retries=int(self._setting("retries", 4)),
            )
            api = CFClient(http, target.api, creds, log_cache=target.log_cache)
            if creds.token_url is None:
                with edge(f"cannot reach the Cloud Foundry API at {target.api}"):
                    links = api.root().get("links") or {}
                href = (links.get("login") or links.get("uaa") or {}).get("href")
                if not href:
                    raise BackendUnavailable(
                        f"{target.api} does not look like a Cloud Foundry API (no login link)"
                    )
                creds.token_url = href
                api.log_cache = (links.get("log_cache") or {}).get("href")
            self._target, self._api = target, api
        return self._api

    def _space(self) -> str:
        api = self.client()
        target = self._target
        assert target is not None
        if self._space_guid is None:
            self._space_guid = target.space_guid
        if self._space_guid is None:
            if not target.org or not target.space:
                raise InvalidArgument(
                    "no Cloud Foundry org and space are targeted: run `cf target -o ORG -s SPACE` "
                    "(or set CF_ORG and CF_SPACE)"
                )
            with edge("cannot look up the org and space"):
                org = api.find_one("/v3/organizations", {"names": target.org})
                if org is None:
                    raise InvalidArgument(
                        f"no Cloud Foundry org named {target.org!r} is visible to this login"
                    )
                space = api.find_one("/v3/spaces", {"names": target.space, "organization_guids": org["guid"]})
            if space is None:
                raise InvalidArgument(f"no space named {target.space!r} in Cloud Foundry org {target.org!r}")
            self._space_guid = str(space["guid"])
        return self._space_guid

    # --- submission -----------------------------------------------------------------------------------
    def prepare(self, template: JobTemplate) -> Launch:
        """Validate the template and find the app; raises UnsupportedAttribute, InvalidArgument (no or
        unknown app, app without droplet), DeniedByDrms (login), BackendUnavailable (API unreachable)."""
        self.check_template(template)
        for key in template.resource_limits:
            if key not in ("memory_mb", "disk_mb"):
                raise UnsupportedAttribute(
                    f"the cf backend cannot honour the {key.removesuffix('_mb')} limit"
                )
        for key in template.extension:
            if key != "user":
                raise UnsupportedAttribute(f"the cf backend cannot honour --{key}")
        if not template.job_category:
            raise InvalidArgument("the cf backend runs tasks of an app: name it with --app APP")
        name = template.job_category
        api, space = self.client(), self._space()
        target = self._target
        assert target is not None
        with edge(f"cannot look up app {name!r}"):
            app = api.find_one("/v3/apps", {"names": name, "space_guids": space})
            if app is None:
                where = f"space {target.space!r}" if target.space else "the targeted space"
                raise InvalidArgument(
                    f"no app named {name!r} in {where}" + (f" of org {target.org!r}" if target.org else "")
                )
            if not api.has_droplet(app["guid"]):
                raise InvalidArgument(
                    f"app {name!r} has no droplet to run tasks with: stage it first (cf push)"
                )
        return CFLaunch(self, str(app["guid"]), str(app.get("name", name)))

    # --- observation ----------------------------------------------------------------------------------
    def _check_target(self, jobs: Sequence[JobInfo]) -> None:
        self.client()
        assert self._target is not None
        for job in jobs:
            api = job.backend_data.get("api")
            if api and api.rstrip("/") != self._target.api.rstrip("/"):
                raise BackendUnavailable(
                    f"job {job.id} ran on {api} but the Cloud Foundry login is for {self._target.api}"
                )

    def _fetch(self, guids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = {g: self._final[g] for g in guids if g in self._final}
        missing = [g for g in guids if g not in found]
        if missing:
            with edge("cannot read the Cloud Foundry tasks"):
                for task in self.client().tasks(missing):
                    found[task["guid"]] = task
                    if task.get("state") in FINAL:
                        self._final[task["guid"]] = task
        return found

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """One batched task query for every job. Raises BackendUnavailable, also for a refused login:
        a listing of every backend's jobs should then show these as last known, not fail as a whole."""
        try:
            return self._refresh(jobs)
        except DeniedByDrms as e:
            raise BackendUnavailable(str(e)) from e

    def _refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        self._check_target(jobs)
        tasks = self._fetch([j.native_id for j in jobs if j.native_id])
        now = time.time()
        changed: list[JobInfo] = []
        for job in jobs:
            if job.native_id is None:
                new = self._find_unborn(job, now)
            elif job.native_id in tasks:
                new = job.evolve(**task_changes(job, tasks[job.native_id], now))
            else:
                new = job.evolve(
                    state=JobState.FAILED,
                    finish_time=now,
                    annotation="the task is no longer known to Cloud Foundry",
                )
            if new != job:
                changed.append(new)
        return changed

    def _find_unborn(self, job: JobInfo, now: float) -> JobInfo:
        """A record without a task: its submitter stopped between writing it and the create's answer."""
        data = job.backend_data
        if not data.get("app_guid") or not data.get("label"):
            return job
        with edge("cannot look for the task"):
            found = self.client().tasks_labelled(data["app_guid"], f"{LABEL}={data['label']}")
        if found:
            return adopt(job, found[0], now)
        if job.submission_time is not None and now - job.submission_time > UNBORN_GRACE:
            return job.evolve(state=JobState.FAILED, finish_time=now, annotation="the task was never created")
        return job

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        """Poll (0.1 s, growing to ``poll_max``) until a task has ended; 429s are waited out per Retry-After
        by the client, and a short outage is sat out. Raises DeniedByDrms, BackendUnavailable."""
        guids = [j.native_id for j in jobs if j.native_id]
        if len(guids) < len(jobs) or not guids:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        interval, cap = 0.1, max(0.1, self._setting("poll_max", 2.0))
        failing_since: float | None = None
        while True:
            try:
                tasks = self._fetch(guids)
                failing_since = None
                if any(g not in tasks or tasks[g].get("state") in FINAL for g in guids):
                    return
            except BackendUnavailable:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > 300:
                    raise
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            time.sleep(interval if remaining is None else min(interval, remaining))
            interval = min(interval * 1.5, cap)

    # --- control --------------------------------------------------------------------------------------
    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """Cancel the task (Cloud Foundry sends SIGTERM, then SIGKILL after 10 s). Raises
        UnsupportedOperation for other signals, InvalidState when the task already ended."""
        if signal not in (None, 9, 15):
            raise UnsupportedOperation(
                f"the cf backend cannot send signal {signal}: tasks can only be cancelled"
            )
        if not job.native_id:
            raise InvalidState(f"job {job.id} has no Cloud Foundry task yet")
        try:
            self.client().cancel(job.native_id)
        except ApiError as e:
            if e.status == 422:
                raise InvalidState(f"job {job.id} has already ended ({e.summary})") from e
            if e.status == 404:
                raise InvalidState(f"job {job.id}: the task is no longer known to Cloud Foundry") from e
            raise e.to_drmaa2(f"cannot cancel job {job.id}") from e
        except Unreachable as e:
            raise e.to_drmaa2(f"cannot cancel job {job.id}") from e

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        """The task's lines on ``stream`` from log-cache (both streams on "out" with ``join_files``), without
        Cloud Foundry's closing "Exit status N" line. Raises BackendUnavailable, DeniedByDrms."""
        if stream not in ("out", "err"):
            raise InvalidArgument(f"unknown output stream {stream!r} (out or err)")
        data = job.backend_data
        if not job.native_id or not data.get("task_name") or not data.get("app_guid"):
            return b""
        join = job.template.join_files
        if join and stream == "err":
            return b""
        wanted = {"OUT", "ERR"} if join else {"OUT" if stream == "out" else "ERR"}
        api = self.client()
        if api.log_cache is None:
            with edge("cannot find log-cache"):
                api.log_cache = ((api.root().get("links") or {}).get("log_cache") or {}).get("href")
            if not api.log_cache:
                raise BackendUnavailable(
                    "this Cloud Foundry has no log-cache: the task's output cannot be read"
                )
        source = f"APP/TASK/{data['task_name']}"
        # created_at is rounded down to the second, so the task's first line cannot be earlier; starting any
        # earlier would take in the end of a finished task of the same name. The exit line ends the task.
        begin = parse_time(data.get("created_at")) or job.submission_time or 0.0
        cursor = max(0, int(begin * 1e9))
        end = int((job.finish_time + 60) * 1e9) if job.finish_time else None
        lines: list[bytes] = []
        with edge("cannot read the task's output from log-cache"):
            while True:
                batch, limit = api.read_logs(data["app_guid"], cursor, LOG_PAGE)
                for env in batch:
                    decoded = decode_envelope(env)
                    if decoded is None:
                        continue
                    ts, src, kind, payload = decoded
                    cursor = max(cursor, ts + 1)
                    if src != source:
                        continue
                    if (end is not None and ts >= end) or (kind == "OUT" and is_exit_line(payload, job)):
                        return b"".join(line + b"\n" for line in lines)
                    if kind in wanted:
                        lines.append(payload)
                if len(batch) < limit:
                    return b"".join(line + b"\n" for line in lines)

    def cleanup(self, job: JobInfo) -> None:
        # Cloud Foundry keeps tasks and expires their logs itself; nothing of ours remains.
        if job.native_id:
            self._final.pop(job.native_id, None)


def adopt(job: JobInfo, task: Mapping[str, Any], now: float) -> JobInfo:
    """``job`` now tracking ``task`` (native id, task name, state)."""
    data = {
        **job.backend_data,
        "task_name": task.get("name"),
        "sequence_id": task.get("sequence_id"),
        "created_at": task.get("created_at"),
    }
    return job.evolve(native_id=str(task["guid"]), backend_data=data, **task_changes(job, task, now))


class CFLaunch(Launch):
    """Creates the task once the record exists; a create without an answer is resolved by label."""

    def __init__(self, backend: CFBackend, app_guid: str, app_name: str) -> None:
        self.backend, self.app_guid, self.app_name = backend, app_guid, app_name

    def bind(self, job: JobInfo) -> None:
        target = self.backend._target
        job.backend_data = {
            "api": target.api if target else None,
            "app": self.app_name,
            "app_guid": self.app_guid,
            "label": f"{self.backend.ctx.instance}-{job.id}",
        }

    def body(self, job: JobInfo) -> dict[str, Any]:
        t = job.template
        body: dict[str, Any] = {
            "command": command_line(job),
            "metadata": {"labels": {LABEL: job.backend_data["label"]}},
        }
        if t.job_name:
            body["name"] = t.job_name
        if "memory_mb" in t.resource_limits:
            body["memory_in_mb"] = int(t.resource_limits["memory_mb"])
        if "disk_mb" in t.resource_limits:
            body["disk_in_mb"] = int(t.resource_limits["disk_mb"])
        if t.extension.get("user"):
            body["user"] = str(t.extension["user"])
        return body

    def start(self, job: JobInfo) -> JobInfo:
        """Create the task; raises InvalidArgument (refused), BackendUnavailable, DeniedByDrms."""
        api = self.backend.client()
        try:
            task = api.create_task(self.app_guid, self.body(job))
        except ApiError as e:
            if e.status < 500:
                if e.status in (400, 404, 422):
                    raise InvalidArgument(f"Cloud Foundry refused the task: {e.summary}") from e
                raise e.to_drmaa2("cannot create the task") from e
            task = self._recover(job, e)
        except Unreachable as e:
            if not e.maybe_processed:
                raise e.to_drmaa2("cannot create the task") from e
            task = self._recover(job, e)
        return adopt(job, task, time.time())

    def _recover(self, job: JobInfo, cause: Exception) -> dict[str, Any]:
        """The create may have happened although its answer was lost: look for the task by its label
        rather than create it again."""
        reason = cause.summary if isinstance(cause, ApiError) else str(cause)
        selector = f"{LABEL}={job.backend_data['label']}"
        try:
            found = self.backend.client().tasks_labelled(self.app_guid, selector)
        except (ApiError, Unreachable, Drmaa2Error) as e:
            raise BackendUnavailable(
                f"the task create got no clear answer ({reason}) and the check failed too; "
                f"look for a task labelled {selector} with `cf tasks {self.app_name}`"
            ) from e
        if not found:
            raise BackendUnavailable(f"cannot create the task: {reason}")
        return found[0]

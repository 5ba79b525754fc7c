"""The Cloud Foundry backend: a job is a v3 task of an app (``--app``) in the targeted org and space.

Submission looks the app up and checks it has a droplet in ``prepare`` (so a typo or a bad login writes no
record), then creates the task in ``Launch.start``; the task guid becomes the native id. Each task carries the
label ``drmaa2-job=<home instance>-<job id>``: when a create gets no answer, the task is found by that label
instead of being created twice. States come from one batched ``GET /v3/tasks?guids=...``; the exit status is
read from ``result.failure_reason``; output is read back from log-cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from ...errors import (
    BackendUnavailable,
    DeniedByDrms,
    Drmaa2Error,
    ExitStatus,
    InvalidArgument,
    InvalidState,
    UnsupportedOperation,
)
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ...monitoring import MachineInfo, QueueInfo
from ..base import Backend, BackendContext, Launch
from ..contract import NO_IMAGES, Refusal
from . import DATA_SHAPE, auth
from .client import ApiError, CFClient, Http, Unreachable
from .map import FINAL, LABEL, adopt, check_limits, parse_time, task_body, task_changes

UNBORN_GRACE = 60.0  # seconds a record may lack its task before the create is taken as never sent
TASK_REUSE = 1.0  # a task read this recently is not read again by refresh (wait_any just read it)
LOG_REUSE = 2.0  # an active task's output is read at most this often (the cf CLI's log poll period)
OUTAGE_LIMIT = 300.0  # seconds of failed reads a wait sits out before giving up
LOG_SETTLE = 3.0  # seconds to wait for a just-finished task's last lines to reach log-cache


@contextmanager
def edge(context: str) -> Iterator[None]:
    """Convert the client's errors into drmaa2 errors, one line with ``context`` first."""
    try:
        yield
    except (ApiError, Unreachable) as e:
        raise e.to_drmaa2(context) from e


class CFBackend(Backend):
    """Jobs as Cloud Foundry v3 tasks. Settings (``[backends.cf]``): ``request_timeout`` (s, 30),
    ``retries`` (4), ``poll_max`` (longest pause between polls while waiting, s, 5)."""

    name = "cf"
    unsupported_fields = (
        "working_directory",
        "job_environment",
        "input_path",
        "output_path",
        "error_path",
        "stage_in_files",
        "timeout",
        "queue_name",
    )
    extensions = frozenset({"user"})
    category = "app"
    limits = frozenset({"memory_mb", "disk_mb"})
    sees_home = False
    data_shape = DATA_SHAPE
    refuses: ClassVar[Mapping[str, Refusal]] = {
        "run-stdin": Refusal("Cloud Foundry tasks have no standard input: `run` refuses when it has input "
                             "waiting (a pipe or a file; a terminal and /dev/null are fine)", ExitStatus.USAGE),
        "output-files": Refusal("a task's output lives in log-cache, not in files: `logs` reads it",
                                ExitStatus.USAGE),
        "timeout": Refusal("Cloud Foundry tasks have no run-time limit", ExitStatus.USAGE),
        "deadline": Refusal("Cloud Foundry tasks have no run-time limit", ExitStatus.USAGE),
        "environment": Refusal("a task's environment is its app's: -v and -V are refused (--export NONE works)",
                               ExitStatus.USAGE),
        "job-script": Refusal("scripts run, but their output-file, time-limit, working-directory and environment "
                              "directives are refused (201), naming the line: a task has none of these"),
        "suspend": Refusal("Cloud Foundry tasks cannot be suspended", ExitStatus.UNSUPPORTED),
        "kill-suspended": Refusal("no task is ever suspended (see suspend)", ExitStatus.UNSUPPORTED),
        "exit-status": Refusal("Cloud Foundry reports a process killed by signal N as exit status 128+N, so a "
                               "task's own exit status above 128 is shown as that signal (as a shell reads $?)"),
        "machines": Refusal("Cloud Foundry does not show the cells that run tasks", ExitStatus.UNSUPPORTED),
        "kill": Refusal("a cancelled task is sent SIGTERM, then SIGKILL 10 s later, but the API does not say "
                        "which ended it: it is shown as SIGTERM (143)"),
        "accounting": Refusal("the v3 API gives no CPU time or peak memory of a task: both are null"),
        **NO_IMAGES,
    }

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self._target: auth.Target | None = None
        self._api: CFClient | None = None
        self._space_guid: str | None = None
        self._final: dict[str, dict[str, Any]] = {}  # a final task never changes: no need to ask twice
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}  # guid -> (monotonic time read, task)
        self._asked: dict[str, float] = {}  # guid -> monotonic time of the last read attempt
        self._logs: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._poll: tuple[frozenset[str], float] = (frozenset(), 0.0)  # the jobs waited for, current pause

    def _setting(self, key: str, default: float) -> float:
        value = self.ctx.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidArgument(f"[backends.cf] {key} must be a non-negative number, got {value!r}")
        return float(value)

    # --- connection -----------------------------------------------------------------------------------
    def client(self) -> CFClient:
        """The API client for the current login; raises DeniedByDrms, BackendUnavailable."""
        if self._api is None:
            target, creds = auth.load(self.ctx.environ)
            http = Http(
                verify=target.verify,
                timeout=self._setting("request_timeout", 30.0),
                retries=int(self._setting("retries", 4)),
            )
            api = CFClient(http, target.api, creds, log_cache=target.log_cache)
            if creds.token_url is None:
                with edge("cannot reach the Cloud Foundry API"):
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
                    raise InvalidArgument(f"no Cloud Foundry org named {target.org!r} is visible to this login")
                space = api.find_one("/v3/spaces", {"names": target.space, "organization_guids": org["guid"]})
            if space is None:
                raise InvalidArgument(f"no space named {target.space!r} in Cloud Foundry org {target.org!r}")
            self._space_guid = str(space["guid"])
        return self._space_guid

    # --- monitoring -----------------------------------------------------------------------------------
    def machines(self) -> list[MachineInfo]:
        raise UnsupportedOperation("the cf backend cannot list machines: Cloud Foundry does not show the "
                                   "cells that run tasks")

    def queues(self) -> list[QueueInfo]:
        """The targeted space, where every task of this login runs (looked up, so that it is known to exist)."""
        guid = self._space()
        target = self._target
        name = f"{target.org}/{target.space}" if target and target.org and target.space else guid
        return [QueueInfo(name=name, default=True)]

    def categories(self) -> list[str]:
        """The apps of the targeted space: what ``--app`` (the job category) can name."""
        space = self._space()
        with edge("cannot list the apps of the space"):
            return sorted(str(a["name"]) for a in self.client().paginate("/v3/apps", {"space_guids": space}))

    # --- submission -----------------------------------------------------------------------------------
    def prepare(
        self, template: JobTemplate, *, array: ArraySpec | None = None, after: Dependencies | None = None
    ) -> Launch:
        """Validate the template and find the app; raises UnsupportedAttribute, InvalidArgument (no or
        unknown app, app without droplet), DeniedByDrms (login), BackendUnavailable (API unreachable)."""
        self.check_template(template)
        check_limits(template)
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
                raise InvalidArgument(f"app {name!r} has no droplet to run tasks with: stage it first (cf push)")
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

    def _fetch(self, guids: Sequence[str], max_age: float = 0.0) -> dict[str, dict[str, Any]]:
        """The tasks, read in one request unless final or read less than ``max_age`` seconds ago."""
        now = time.monotonic()
        found = {g: self._final[g] for g in guids if g in self._final}
        found.update({g: self._seen[g][1] for g in guids if g in self._seen and now - self._seen[g][0] <= max_age})
        missing = [g for g in guids if g not in found]
        if missing:
            # A failed read counts as a read, so that waiting backs off from a struggling API too.
            self._asked.update(dict.fromkeys(missing, now))
            with edge("cannot read the Cloud Foundry tasks"):
                tasks = self.client().tasks(missing)
            now = time.monotonic()
            for task in tasks:
                found[task["guid"]] = task
                self._seen[task["guid"]] = (now, task)
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
        tasks = self._fetch([j.native_id for j in jobs if j.native_id], TASK_REUSE)
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
        """Poll until a task has ended: pauses start at 0.1 s and grow to ``poll_max``, also across calls
        for the same jobs (a log follower calls with short timeouts); 429s are waited out per Retry-After
        by the client and a short outage is sat out. Raises DeniedByDrms, BackendUnavailable."""
        guids = [j.native_id for j in jobs if j.native_id]
        if len(guids) < len(jobs) or not guids:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        cap = max(0.1, self._setting("poll_max", 5.0))
        if self._poll[0] != frozenset(guids):
            self._poll = (frozenset(guids), 0.1)
        failing_since: float | None = None
        while True:
            # The next read is due one pause after the oldest read of these tasks (by refresh, too).
            last = min((self._asked.get(g, float("-inf")) for g in guids), default=float("-inf"))
            now = time.monotonic()
            pause = last + self._poll[1] - now
            if deadline is not None and deadline - now <= max(pause, 0.0):
                time.sleep(max(0.0, deadline - now))
                return
            if pause > 0:
                time.sleep(pause)
            try:
                tasks = self._fetch(guids)
                failing_since = None
            except BackendUnavailable:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > OUTAGE_LIMIT:
                    raise
                tasks = {}
            self._poll = (self._poll[0], min(self._poll[1] * 1.5, cap))
            if tasks and any(g not in tasks or tasks[g].get("state") in FINAL for g in guids):
                return

    # --- control --------------------------------------------------------------------------------------
    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """Cancel the task (Cloud Foundry sends SIGTERM, then SIGKILL after 10 s). Raises
        UnsupportedOperation for other signals, InvalidState when the task already ended."""
        if signal not in (None, 9, 15):
            raise UnsupportedOperation(f"the cf backend cannot send signal {signal}: tasks can only be cancelled")
        if not job.native_id:
            raise InvalidState(f"job {job.id} has no Cloud Foundry task yet")
        self._seen.pop(job.native_id, None)  # its state is about to change: read it afresh
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
        kinds = ("OUT", "ERR") if join else ("OUT" if stream == "out" else "ERR",)
        key = (job.native_id, stream)
        cached = self._logs.get(key)
        if cached is not None and not job.state.final and time.monotonic() - cached[0] < LOG_REUSE:
            return cached[1]
        api = self.client()
        # created_at is rounded down to the second, so the task's first line cannot be earlier; starting any
        # earlier would take in the end of a finished task of the same name. The exit line ends the task.
        begin = parse_time(data.get("created_at")) or job.submission_time or 0.0
        end = job.finish_time + 60 if job.finish_time else None
        settle = time.monotonic() + LOG_SETTLE
        with edge("cannot read the task's output from log-cache"):
            if api.log_cache is None:
                api.log_cache = ((api.root().get("links") or {}).get("log_cache") or {}).get("href")
            while True:
                lines, ended = api.task_log(
                    data["app_guid"], f"APP/TASK/{data['task_name']}", begin, end, job.exit_status
                )
                # Log delivery lags the task's end: a just-finished task's last lines may still be coming.
                recent = job.finish_time is not None and time.time() - job.finish_time < LOG_SETTLE * 10
                if ended or not job.state.final or not recent or time.monotonic() > settle:
                    break
                time.sleep(0.25)
        out = b"".join(payload + b"\n" for kind, payload in lines if kind in kinds)
        self._logs[key] = (time.monotonic(), out)
        return out

    def cleanup(self, job: JobInfo) -> None:
        # Cloud Foundry keeps tasks and expires their logs itself; nothing of ours remains.
        if job.native_id:
            self._final.pop(job.native_id, None)



class CFLaunch(Launch):
    """Creates the task once the record exists; a create without an answer is resolved by label."""

    def __init__(self, backend: CFBackend, app_guid: str, app_name: str) -> None:
        self.backend, self.app_guid, self.app_name = backend, app_guid, app_name

    def bind(self, job: JobInfo) -> None:
        target = self.backend._target
        job.backend_data.update(
            api=target.api if target else None,
            app=self.app_name,
            app_guid=self.app_guid,
            label=f"{self.backend.ctx.instance}-{job.run_id}",
        )

    def start(self, job: JobInfo) -> JobInfo:
        """Create the task; raises InvalidArgument (refused), BackendUnavailable, DeniedByDrms."""
        api = self.backend.client()
        try:
            task = api.create_task(self.app_guid, task_body(job))
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

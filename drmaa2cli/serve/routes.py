"""The operations of ``/v1``: jobs as a resource, sessions, machines and queues. Each handler checks what the
request says, calls the core (``Service``, the code the commands call) in the bounded thread pool, and answers
in the CLI's ``--json`` schema. Errors are the core's, answered by ``app`` with their exit code."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import parsing, render
from ..backends import Backend
from ..errors import InvalidArgument, JobNotFound
from ..models import JOB_ID, SCHEMA_VERSION, JobInfo, JobState, JobTemplate
from ..service import Service
from .state import ServerState

ACTIONS = ("kill", "suspend", "resume", "hold", "release", "requeue")
STREAMS = ("out", "err")
#: Template fields a client may not set: the server's own notification hook is its configuration's.
_SERVER_ONLY = ("notify_command",)


class PayloadTooLarge(Exception):
    """A request body beyond the server's limit (413)."""


class SlowClient(Exception):
    """A client that did not send its body in time (408)."""


class Busy(Exception):
    """Too many streams or long-polls at once (503)."""


@dataclass(frozen=True)
class Operation:
    """One operation: its route, the handler, and what the OpenAPI document says of it."""

    method: str
    path: str
    handler: Callable[[Request], Any]
    summary: str
    query: tuple[tuple[str, str, str], ...] = ()  # (name, type, description)
    body: str | None = None  # what the request body holds
    answer: str = "application/json"
    writes: bool = False  # needs a token that may submit and control
    result: str | None = None  # the schema of its answer (``openapi.SCHEMAS``; default: the jobs document)


def state_of(request: Request) -> ServerState:
    found: ServerState = request.app.state.drmaa2
    return found


def document(jobs: Sequence[JobInfo], warnings: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, **render.jobs_document(jobs), **extra,
            **({"warnings": list(warnings)} if warnings else {})}


async def read_json(request: Request) -> Any:
    """The request's JSON body, read within the size and time limits."""
    limits = state_of(request).limits
    chunks, size = [], 0
    with anyio.move_on_after(limits.body_seconds) as scope:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.body_bytes:
                raise PayloadTooLarge
            chunks.append(chunk)
    if scope.cancelled_caught:
        raise SlowClient
    try:
        return json.loads(b"".join(chunks) or b"{}", parse_constant=_not_json)
    except ValueError:
        raise InvalidArgument("the request body is not JSON") from None


def _not_json(word: str) -> Any:
    """NaN and Infinity, which Python's reader takes and JSON has not: refused (a number must be one)."""
    raise ValueError(word)


def job_id_of(request: Request) -> str:
    job_id: str = request.path_params["job_id"]
    if not JOB_ID.match(job_id):
        raise JobNotFound(f"unknown job id {job_id!r} (job ids look like 12 or 12.3)")
    return job_id


def _string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidArgument(f"{key} must be a string")
    return value


def _template(data: Any) -> JobTemplate:
    if not isinstance(data, dict):
        raise InvalidArgument("template must be an object (a job template)")
    unknown = sorted(set(data) - set(JobTemplate().__dict__) | (set(data) & set(_SERVER_ONLY)))
    if unknown:
        raise InvalidArgument(f"template: unknown field(s) {', '.join(unknown)}")
    return JobTemplate.from_dict(data)


async def list_jobs(request: Request) -> Response:
    q = request.query_params
    states = None
    if q.get("state"):
        try:
            states = {JobState(s.strip()) for s in q["state"].split(",") if s.strip()}
        except ValueError:
            raise InvalidArgument(f"state: unknown state in {q['state']}") from None
    limit = _integer(q.get("limit"), "limit", 100)
    backend = q.get("backend")

    def work(svc: Service) -> tuple[list[JobInfo], bool]:
        jobs, cut = svc.list_jobs(q.get("session") or None, states, q.get("name") or None, limit)
        return [j for j in jobs if backend is None or j.backend == backend], cut

    (jobs, truncated), warnings = await state_of(request).call(work)
    return JSONResponse(document(jobs, warnings, truncated=truncated))


def _integer(text: str | None, name: str, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise InvalidArgument(f"{name} must be a whole number from 0 up")
    return int(text)


async def submit(request: Request) -> Response:
    state = state_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be an object")
    key = request.headers.get("idempotency-key")
    if key is None:
        status, answer = await _submit(state, body)
        return JSONResponse(answer, status_code=status)
    if len(key) > 200:
        raise InvalidArgument("Idempotency-Key: at most 200 characters")
    status, answer = await state.once(request.scope["drmaa2.token"], key, functools.partial(_submit, state, body),
                                      functools.partial(_kept, state))
    return JSONResponse(answer, status_code=status)


async def _kept(state: ServerState, ids: list[str]) -> dict[str, Any]:
    """The answer to a submit a server before this one made: its jobs as they are now."""
    jobs, warnings = await state.call(lambda svc: svc.jobs(ids))
    return document(jobs, warnings)


async def check(request: Request) -> Response:
    """What a submit of this template would answer, without a record: the core's check of the template and
    the platform's (an unknown queue), so that a remote backend refuses a job before recording it."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be an object")
    template, backend = _template(body.get("template")), _string(body, "backend")

    def work(svc: Service) -> None:
        from ..core import validate

        be = svc.backend(backend or svc.settings.backend)
        inner: Backend = getattr(be, "inner", be)  # the backend in its wrapper (``deferred.StartLater``)
        validate.check_template(template, type(inner))
        be.prepare(template).abort()

    _, warnings = await state_of(request).call(work)
    return JSONResponse({"schema_version": SCHEMA_VERSION, "accepted": True,
                         **({"warnings": warnings} if warnings else {})})


async def _submit(state: ServerState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    session, backend = _string(body, "session"), _string(body, "backend")
    if "script" in body:
        script, args = _string(body, "script"), body.get("args") or []
        given = state.script_submit
        if given is None or script is None:
            raise InvalidArgument("this server does not take job scripts")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InvalidArgument("args must be a list of strings")
        jobs, warnings = await state.call(lambda svc: given(svc, script, args, session, backend))
        return 201, document(jobs, warnings)
    template = _template(body.get("template"))
    array_text, after = _string(body, "array"), body.get("after") or []
    mode = _string(body, "after_mode") or "ok"
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after) or mode not in ("ok", "any"):
        raise InvalidArgument("after must be a list of job ids and after_mode ok or any")
    array = parsing.array(array_text) if array_text else None
    jobs, warnings = await state.call(lambda svc: svc.submit_jobs(template, session, backend, array, after, mode))
    return 201, document(jobs, warnings)


async def get_job(request: Request) -> Response:
    job_id = job_id_of(request)
    jobs, warnings = await state_of(request).call(lambda svc: svc.jobs([job_id]))
    return JSONResponse(document(jobs, warnings))


async def wait_job(request: Request) -> Response:
    state = state_of(request)
    job_id = job_id_of(request)
    timeout = request.query_params.get("timeout")
    seconds = state.limits.wait_seconds if timeout is None else parsing.duration(timeout, "timeout")
    seconds = min(seconds, state.limits.wait_seconds)
    jobs, warnings = await state.call(lambda svc: svc.jobs([job_id]))
    if all(j.state.final for j in jobs):
        return JSONResponse(document(jobs, warnings, ended=True))
    if state.waits.available_tokens < 1:
        raise Busy
    async with state.waits:
        jobs = await state.watcher.wait(job_id, jobs, seconds)
    return JSONResponse(document(jobs, warnings, ended=all(j.state.final for j in jobs)))


async def control(request: Request) -> Response:
    action = request.path_params["action"]
    job_id = job_id_of(request)
    body = await read_json(request)
    signal = body.get("signal") if isinstance(body, dict) else None
    if action not in ACTIONS:
        raise JobNotFound(f"unknown operation {action!r} (known: {', '.join(ACTIONS)})")
    if signal is not None and (action != "kill" or isinstance(signal, bool) or not isinstance(signal, int)
                               or not 1 <= signal <= 64):
        raise InvalidArgument("signal: a signal number, for kill only")

    def work(svc: Service) -> list[JobInfo]:
        if action == "kill":
            return svc.kill([job_id], signal)
        found: list[JobInfo] = getattr(svc, action)([job_id])
        return found

    jobs, warnings = await state_of(request).call(work)
    return JSONResponse(document(jobs, warnings))


async def alter(request: Request) -> Response:
    job_id = job_id_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not body:
        raise InvalidArgument("alter: nothing to change")
    known = {"name", "priority", "start_time", "timeout", "after", "after_mode"}
    if set(body) - known:
        raise InvalidArgument(f"alter: unknown field(s) {', '.join(sorted(set(body) - known))}")
    after = body.get("after")
    if after is not None and (not isinstance(after, list) or not all(isinstance(a, str) for a in after)):
        raise InvalidArgument("after must be a list of job ids")
    # The bounds the command's options have (`alter --priority`, `--begin`, `--timeout`).
    for key, low, high in (("start_time", 0, 253402300799), ("timeout", 1e-3, 1e9)):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not low <= value <= high):
            raise InvalidArgument(f"{key} must be a number of seconds from {low:g} to {high:g}")
    priority = body.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                 or not -1_000_000 <= priority <= 1_000_000):
        raise InvalidArgument("priority must be a whole number from -1000000 to 1000000")
    jobs, warnings = await state_of(request).call(lambda svc: svc.alter(
        [job_id], _string(body, "name"), body.get("priority"), body.get("start_time"), body.get("timeout"),
        after, _string(body, "after_mode") or "ok"))
    return JSONResponse(document(jobs, warnings))


async def remove(request: Request) -> Response:
    job_id = job_id_of(request)
    force = request.query_params.get("force") in ("1", "true")
    removed, _ = await state_of(request).call(lambda svc: svc.reap([job_id], force=force))
    return JSONResponse({"schema_version": SCHEMA_VERSION, "removed": removed})


async def logs(request: Request) -> Response:
    state = state_of(request)
    job_id = job_id_of(request)
    q = request.query_params
    stream = q.get("stream", "out")
    if stream not in STREAMS:
        raise InvalidArgument(f"stream must be one of {', '.join(STREAMS)}")
    offset = _integer(q.get("offset"), "offset", 0)
    length = _integer(q.get("length"), "length", 0) or None

    def read(svc: Service, start: int) -> tuple[JobInfo, bytes]:
        jobs = svc.jobs([job_id])
        if len(jobs) != 1:
            raise InvalidArgument(f"job {job_id} is an array: ask for one task's output ({job_id}.N)")
        return jobs[0], svc.output(jobs[0], stream, start)

    (job, data), _ = await state.call(lambda svc: read(svc, offset))
    headers = {"X-Drmaa2-Job-State": job.state.value}
    if q.get("follow") not in ("1", "true"):
        return Response(data[:length] if length else data, media_type="application/octet-stream",
                        headers=headers)
    if state.streams.available_tokens < 1:
        raise Busy

    async def follow() -> AsyncIterator[bytes]:
        async with state.streams:
            position, now, chunk = offset, job, data
            while True:
                if chunk:
                    position += len(chunk)
                    yield chunk
                if now.state.final:
                    return
                await anyio.sleep(0.2)
                (now, chunk), _ = await state.call(functools.partial(read, start=position))

    return StreamingResponse(follow(), media_type="application/octet-stream", headers=headers)


async def sessions(request: Request) -> Response:
    found, _ = await state_of(request).call(lambda svc: svc.sessions())
    return JSONResponse({"schema_version": SCHEMA_VERSION,
                         "sessions": [{"name": s.name, "counts": s.counts} for s in found]})


async def create_session(request: Request) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be an object")
    name = _string(body, "name") or ""
    exist_ok = bool(body.get("exist_ok"))
    new, _ = await state_of(request).call(lambda svc: svc.create_session(name, exist_ok=exist_ok))
    return JSONResponse({"schema_version": SCHEMA_VERSION, "created": new}, status_code=201 if new else 200)


async def destroy_session(request: Request) -> Response:
    name = request.path_params["name"]
    force = request.query_params.get("force") in ("1", "true")
    removed, _ = await state_of(request).call(lambda svc: svc.destroy_session(name, force))
    return JSONResponse({"schema_version": SCHEMA_VERSION, "removed": removed})


async def machines(request: Request) -> Response:
    backend, names = request.query_params.get("backend"), request.query_params.getlist("name")
    found, _ = await state_of(request).call(lambda svc: svc.machines(backend, names))
    return JSONResponse({"schema_version": SCHEMA_VERSION, "machines": [m.to_public() for m in found]})


async def queues(request: Request) -> Response:
    backend, names = request.query_params.get("backend"), request.query_params.getlist("name")
    found, _ = await state_of(request).call(lambda svc: svc.queues(backend, names))
    return JSONResponse({"schema_version": SCHEMA_VERSION, "queues": [q.to_public() for q in found]})


async def categories(request: Request) -> Response:
    backend = request.query_params.get("backend")
    found, _ = await state_of(request).call(lambda svc: svc.categories(backend))
    return JSONResponse({"schema_version": SCHEMA_VERSION, "categories": found})


_FILTERS = (("session", "string", "only this session's jobs (default: every session)"),
            ("state", "string", "only jobs in these states (queued,running)"),
            ("name", "string", "only jobs of this name"), ("backend", "string", "only jobs of this backend"),
            ("limit", "integer", "finished jobs besides the active ones (0: all; default 100)"))
_PLATFORM = (("backend", "string", "the backend asked (default: the server's)"),
             ("name", "string", "only these names (repeatable)"))

OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/v1/jobs", list_jobs, "List jobs (as `drmaa2 status --json`)", _FILTERS),
    Operation("POST", "/v1/jobs", submit, "Submit a job, an array or a job script's text", body="submission",
              writes=True),
    Operation("POST", "/v1/jobs/check", check, "Check a job template as a submit would, recording nothing",
              body="submission", writes=True, result="Checked"),
    Operation("GET", "/v1/jobs/{job_id}", get_job, "One job, or every task of an array"),
    Operation("PATCH", "/v1/jobs/{job_id}", alter, "Alter a job not started yet", body="changes", writes=True),
    Operation("DELETE", "/v1/jobs/{job_id}", remove, "Remove a job's record (`drmaa2 rm`)",
              (("force", "boolean", "kill it first if active"),), writes=True, result="Removed"),
    Operation("GET", "/v1/jobs/{job_id}/wait", wait_job, "Wait for the job to end (long-poll)",
              (("timeout", "string", "at most this long (90s, 1m; the server caps it at 60 s)"),)),
    Operation("POST", "/v1/jobs/{job_id}/{action}", control,
              "Control a job: kill, suspend, resume, hold, release, requeue", body="control", writes=True),
    Operation("GET", "/v1/jobs/{job_id}/logs", logs, "The job's output: a range, or followed as a stream",
              (("stream", "string", "out or err"), ("offset", "integer", "from this byte"),
               ("length", "integer", "at most this many bytes"),
               ("follow", "boolean", "stream it until the job ends")), answer="application/octet-stream"),
    Operation("GET", "/v1/sessions", sessions, "Job sessions and their job counts per state",
              result="Sessions"),
    Operation("POST", "/v1/sessions", create_session, "Create a job session", body="session", writes=True,
              result="Created"),
    Operation("DELETE", "/v1/sessions/{name}", destroy_session, "Destroy a job session",
              (("force", "boolean", "kill its active jobs first"),), writes=True, result="Removed"),
    Operation("GET", "/v1/machines", machines, "The backend's execution hosts", _PLATFORM,
              result="Machines"),
    Operation("GET", "/v1/queues", queues, "Where the backend's jobs can be submitted", _PLATFORM,
              result="Queues"),
    Operation("GET", "/v1/categories", categories, "The backend's job categories (images, apps)",
              _PLATFORM[:1], result="Categories"),
)

"""The ASGI application: the operations of ``routes`` behind the bearer-token check and the request limits,
errors answered as the CLI reports them (the one line, and the exit code the CLI would give), and the OpenAPI
document made from the same operations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import config, errors
from ..backends.remote.convert import error_body
from . import events, static
from .openapi import openapi
from .routes import OPERATIONS, Busy, PayloadTooLarge, SlowClient
from .state import Limits, ServerState

#: The HTTP status of each kind of error (the body gives the CLI's exit code as well).
STATUS: dict[type[errors.Drmaa2Error], int] = {
    errors.InvalidArgument: 400, errors.JobNotFound: 404, errors.InvalidState: 409,
    errors.UnsupportedOperation: 501, errors.BackendUnavailable: 503, errors.DeniedByDrms: 502,
    errors.WaitTimeout: 408, errors.StoreError: 500,
}
_REFUSED = {"error": {"kind": "Unauthorized", "message": "a valid bearer token is needed",
                      "exit_status": int(errors.ExitStatus.DENIED)}}
_READ_ONLY = {"error": {"kind": "Forbidden", "message": "this token may only read",
                        "exit_status": int(errors.ExitStatus.DENIED)}}


def status_of(e: errors.Drmaa2Error) -> int:
    for cls in type(e).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _internal(request: Request, e: Exception) -> Response:
    """A bug: the CLI's exit code 200 and its words (the traceback goes to the server's log only)."""
    return JSONResponse({"error": {"kind": "Internal", "message": f"internal error: {type(e).__name__}",
                                   "exit_status": int(errors.ExitStatus.INTERNAL)}}, status_code=500)


async def _drmaa2_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, errors.Drmaa2Error)
    return JSONResponse(error_body(e), status_code=status_of(e))


def _fixed(status: int, kind: str, message: str) -> Callable[[Request, Exception], Any]:
    async def answer(request: Request, e: Exception) -> Response:
        code = {503: errors.ExitStatus.BACKEND_UNAVAILABLE, 404: errors.ExitStatus.NOT_FOUND}.get(
            status, errors.ExitStatus.USAGE)
        return JSONResponse({"error": {"kind": kind, "message": message, "exit_status": int(code)}},
                            status_code=status, headers={"Retry-After": "1"} if status == 503 else None)
    return answer


class Guard:
    """Every request carries ``Authorization: Bearer TOKEN`` of a token of this home (else 401, the same
    answer whatever was wrong), one that may write for anything but GET (else 403), and a body within the
    limit (413 at once when its declared length says so; ``routes.read_json`` counts the rest)."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if static.serves(scope):  # the dashboard's page, script and style: no data in them
            await static.static(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        grant = self.state.keyring.check(token.strip()) if scheme.lower() == "bearer" and token else None
        if grant is None:
            await JSONResponse(_REFUSED, 401, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        if grant.read_only and scope["method"] not in ("GET", "HEAD"):
            await JSONResponse(_READ_ONLY, 403)(scope, receive, send)
            return
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > self.state.limits.body_bytes:
            answer = JSONResponse({"error": {"kind": "PayloadTooLarge", "message": "the request body is too "
                                   "large", "exit_status": int(errors.ExitStatus.USAGE)}}, 413)
            await answer(scope, receive, send)
            return
        scope["drmaa2.token"] = grant.token_id
        await self.app(scope, receive, send)


def create_app(settings: config.Settings | None = None, limits: Limits | None = None,
               script_submit: Callable[..., Any] | None = None) -> ASGIApp:
    """The server of the drmaa2 home ``settings`` name (default: resolved as the CLI does)."""
    state = ServerState(settings or config.resolve(), limits, script_submit)
    broker = events.Broker(state.call, state.settings.home, state.limits.streams)
    operations = (*OPERATIONS, *events.OPERATIONS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            group.start_soon(state.watcher.run)
            group.start_soon(broker.run)
            yield
            group.cancel_scope.cancel()

    async def schema(request: Request) -> Response:
        return JSONResponse(openapi(operations))

    routes = [Route(o.path, o.handler, methods=[o.method]) for o in operations]
    routes.append(Route("/openapi.json", schema, methods=["GET"]))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        404: _fixed(404, "NotFound", "no such operation (see /openapi.json)"),
        405: _fixed(405, "MethodNotAllowed", "this operation takes another method (see /openapi.json)"),
        errors.Drmaa2Error: _drmaa2_error,
        Exception: _internal,
        PayloadTooLarge: _fixed(413, "PayloadTooLarge", "the request body is too large"),
        SlowClient: _fixed(408, "RequestTimeout", "the request body came too slowly"),
        Busy: _fixed(503, "Busy", "too many streams or long-polls at once; try again"),
    })
    app.state.drmaa2 = state
    app.state.drmaa2_events = broker
    return Guard(app, state)

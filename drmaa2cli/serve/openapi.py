"""The OpenAPI 3 document of the server, made from its operations (``routes.OPERATIONS``): the paths, their
parameters and bodies, and the job schema of the CLI's ``--json`` (a test holds the handlers and the document
to each other)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models import JobState

if TYPE_CHECKING:
    from .routes import Operation

Schema = dict[str, Any]
_STR: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_NUM: Schema = {"type": "number"}
_BOOL: Schema = {"type": "boolean"}
_NULLABLE: Schema = {"nullable": True}
_IDS: Schema = {"type": "array", "items": _STR}

_JOB_KEYS: dict[str, Schema] = {
    "id": _STR, "name": _STR, "comment": _STR, "session": _STR, "backend": _STR, "native_id": _STR,
    "state": {"type": "string", "enum": [s.value for s in JobState]}, "annotation": _STR, "exit_status": _INT,
    "signal": _INT, "exit_code": _INT, "command": _IDS, "category": _STR, "working_directory": _STR,
    "output_path": _STR, "error_path": _STR, "submission_time": _STR, "dispatch_time": _STR,
    "finish_time": _STR, "wallclock_time": _NUM, "cpu_time": _NUM, "max_rss": _INT, "machine": _STR,
    "submission_machine": _STR, "job_owner": _STR, "after": _IDS, "after_mode": _STR, "queue": _STR,
    "priority": _INT, "start_time": _STR, "deadline_time": _STR, "retries": _INT, "attempt": _INT,
    "attempts": {"type": "array", "items": {"type": "object"}},
}
SCHEMAS: dict[str, Any] = {
    "Job": {"type": "object", "required": ["id", "session", "backend", "state"],
            "properties": {k: {**v, **_NULLABLE} for k, v in _JOB_KEYS.items()}},
    "Jobs": {"type": "object", "required": ["schema_version", "jobs"], "properties": {
        "schema_version": _INT, "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
        "arrays": {"type": "array", "items": {"type": "object"}}, "truncated": _BOOL, "ended": _BOOL,
        "warnings": _IDS}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["kind", "message", "exit_status"],
        "properties": {"kind": _STR, "message": _STR, "exit_status": _INT}}}},
    "submission": {"type": "object", "description": "a job template (with an array spec such as 1-10%2, and "
                   "dependencies), or a job script's text with its arguments", "properties": {
                       "template": {"type": "object", "description": "drmaa2 JobTemplate fields"},
                       "array": _STR, "after": _IDS, "after_mode": {"type": "string", "enum": ["ok", "any"]},
                       "session": _STR, "backend": _STR, "script": _STR, "args": _IDS}},
    "changes": {"type": "object", "properties": {
        "name": _STR, "priority": _INT, "start_time": _NUM, "timeout": _NUM, "after": _IDS,
        "after_mode": {"type": "string", "enum": ["ok", "any"]}}},
    "control": {"type": "object", "properties": {"signal": {**_INT, "description": "kill only"}}},
    "session": {"type": "object", "required": ["name"], "properties": {"name": _STR, "exist_ok": _BOOL}},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


def _operation(o: Operation) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True, "schema": _STR}
              for name in re.findall(r"{(\w+)}", o.path)]
    params += [{"name": name, "in": "query", "required": False, "schema": {"type": kind},
                "description": text} for name, kind, text in o.query]
    for p in params:
        if p["name"] == "action":
            p["schema"] = {"type": "string", "enum": ["kill", "suspend", "resume", "hold", "release", "requeue"]}
    schema = {"$ref": "#/components/schemas/Jobs"} if "job" in o.path else {"type": "object"}
    if o.answer != "application/json":
        schema = {"type": "string", "format": "binary"}
    ok = "201" if o.method == "POST" and o.path in ("/v1/jobs", "/v1/sessions") else "200"
    out: dict[str, Any] = {
        "summary": o.summary, "operationId": f"{o.method.lower()}{re.sub(r'[^A-Za-z]+', '_', o.path)}",
        "parameters": params,
        "responses": {ok: {"description": "done", "content": {o.answer: {"schema": schema}}},
                      "400": _error("bad request"), "401": _error("no valid token"),
                      "404": _error("unknown job or session")},
    }
    if o.writes:
        out["responses"]["403"] = _error("the token may only read")
    if o.body is not None:
        out["requestBody"] = {"content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{o.body}"}}}}
        out["responses"]["413"] = _error("the body is too large")
    return out


def openapi(operations: Sequence[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for o in operations:
        paths.setdefault(o.path, {})[o.method.lower()] = _operation(o)
    paths["/openapi.json"] = {"get": {"summary": "This document", "operationId": "get_openapi",
                                      "responses": {"200": {"description": "the OpenAPI document"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "drmaa2 serve", "version": "1",
                 "description": "The jobs of one drmaa2 home; errors carry the exit code the CLI gives."},
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }

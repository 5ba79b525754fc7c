"""The OpenAPI 3 document of the server, made from its operations (``routes.OPERATIONS``): the paths, their
parameters and bodies, and the job schema of the CLI's ``--json`` (a test holds the handlers and the document
to each other)."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models import JobState, JobTemplate

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


def _field_schema(hint: Any) -> Schema:
    """The JSON schema of a JobTemplate field's Python type."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return {**_field_schema(args[0]), **_NULLABLE}
    if typing.get_origin(hint) is list:
        return {"type": "array", "items": _field_schema(args[0])}
    if typing.get_origin(hint) is dict:
        return {"type": "object", "additionalProperties": _field_schema(args[1])}
    return {str: _STR, bool: _BOOL, int: _INT, float: _NUM}.get(hint, {})


def _template() -> Schema:
    """A JobTemplate's fields and their types; ``notify_command`` is the server's own (refused)."""
    hints = typing.get_type_hints(JobTemplate)
    fields = {f.name: _field_schema(hints[f.name]) for f in dataclasses.fields(JobTemplate)
              if f.name != "notify_command"}
    fields["remote_command"] = {**_STR, "minLength": 1}
    return {"type": "object", "description": "drmaa2 JobTemplate fields", "required": ["remote_command"],
            "additionalProperties": False, "properties": fields}


def _answer(**keys: Schema) -> Schema:
    """An answer's schema: ``schema_version`` and ``keys``, every one of them present."""
    return {"type": "object", "required": ["schema_version", *keys],
            "properties": {"schema_version": _INT, **keys}}


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
    "submission": {"description": "a job template (with an array spec such as 1-10%2, and dependencies), or a "
                   "job script's text with its arguments", "oneOf": [
                       {"type": "object", "required": ["template"], "additionalProperties": False, "properties": {
                           "template": _template(), "array": _STR, "after": _IDS,
                           "after_mode": {"type": "string", "enum": ["ok", "any"]}, "session": _STR,
                           "backend": _STR}},
                       {"type": "object", "required": ["script"], "additionalProperties": False, "properties": {
                           "script": _STR, "args": _IDS, "session": _STR, "backend": _STR}}]},
    "changes": {"type": "object", "properties": {
        "name": _STR, "priority": _INT, "start_time": _NUM, "timeout": _NUM, "after": _IDS,
        "after_mode": {"type": "string", "enum": ["ok", "any"]}}},
    "control": {"type": "object", "properties": {"signal": {**_INT, "description": "kill only"}}},
    "session": {"type": "object", "required": ["name"], "properties": {"name": _STR, "exist_ok": _BOOL}},
    # The answers that are not a jobs document.
    "Checked": {**_answer(accepted=_BOOL), "properties": {"schema_version": _INT, "accepted": _BOOL,
                                                        "warnings": _IDS}},
    "Removed": _answer(removed=_INT),
    "Created": _answer(created=_BOOL),
    "Sessions": _answer(sessions={"type": "array", "items": {
        "type": "object", "required": ["name", "counts"], "properties": {
            "name": _STR, "counts": {"type": "object", "additionalProperties": _INT}}}}),
    "Machines": _answer(machines={"type": "array", "items": {"type": "object"}}),
    "Queues": _answer(queues={"type": "array", "items": {"type": "object"}}),
    "Categories": _answer(categories=_IDS),
    "Whoami": _answer(token={**_STR, **_NULLABLE}, read_only=_BOOL),
}
#: What any operation may answer besides its own success: the HTTP status of each core error (``app.STATUS``).
_ERRORS = {"400": "bad request", "401": "no valid token", "404": "unknown job or session",
           "408": "the request body came too slowly", "409": "not in a state that allows it",
           "500": "a store error (or a bug)", "501": "the backend cannot do it", "502": "the backend refused it",
           "503": "the backend is unavailable, or too many streams at once"}


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
    schema: Schema = {"$ref": f"#/components/schemas/{o.result or 'Jobs'}"}
    if o.answer != "application/json":
        schema = {"type": "string", "format": "binary"}
    done = {"description": "done", "content": {o.answer: {"schema": schema}}}
    oks = {"201": done} if o.method == "POST" and o.path == "/v1/jobs" else {"200": done}
    if o.method == "POST" and o.path == "/v1/sessions":
        oks = {"201": {**done, "description": "created"}, "200": {**done, "description": "it was there"}}
    out: dict[str, Any] = {
        "summary": o.summary, "operationId": f"{o.method.lower()}{re.sub(r'[^A-Za-z]+', '_', o.path)}",
        "parameters": params,
        "responses": {**oks, **{status: _error(text) for status, text in _ERRORS.items()}},
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

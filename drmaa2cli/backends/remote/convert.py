"""The server's JSON (the CLI's ``--json`` schema, version 1) read back into the core's objects, so that a
command renders a remote job as it renders a local one, and the errors the server reports raised as the same
``Drmaa2Error`` subclasses (so the CLI exits with the same code)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ... import errors
from ...models import JobInfo, JobState, JobTemplate

#: Public time keys of a job, in RFC 3339, that the record keeps as epoch seconds.
_TIMES = ("submission_time", "dispatch_time", "finish_time")
_PLAIN = ("native_id", "annotation", "exit_status", "signal", "cpu_time", "max_rss", "machine",
          "submission_machine", "job_owner", "output_path", "error_path", "after", "after_mode")


def epoch(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def job_from_public(doc: dict[str, Any]) -> JobInfo:
    """A JobInfo from one job of the ``--json`` schema (what ``JobInfo.to_public`` wrote)."""
    command = list(doc.get("command") or [""])
    template = JobTemplate(
        remote_command=command[0], args=command[1:], job_name=doc.get("name"), comment=doc.get("comment"),
        job_category=doc.get("category"), working_directory=doc.get("working_directory"),
        queue_name=doc.get("queue"), priority=doc.get("priority") or 0, start_time=epoch(doc.get("start_time")),
        deadline_time=epoch(doc.get("deadline_time")), retries=doc.get("retries") or 0,
    )
    attempts = [dict(a, dispatch_time=epoch(a.get("dispatch_time")), finish_time=epoch(a.get("finish_time")))
                for a in doc.get("attempts") or []]
    job = JobInfo(id=str(doc["id"]), session=doc["session"], backend=doc["backend"],
                  state=JobState(doc["state"]), template=template, attempts=attempts or None)
    for key in _PLAIN:
        setattr(job, key, doc.get(key))
    for key in _TIMES:
        setattr(job, key, epoch(doc.get(key)))
    return job


def error_body(e: errors.Drmaa2Error) -> dict[str, Any]:
    """What the server answers for an error: its class, its one line and the CLI's exit code for it."""
    return {"error": {"kind": type(e).__name__, "message": str(e), "exit_status": int(e.exit_status)}}


def error_from_body(body: Any, status: int) -> errors.Drmaa2Error:
    """The error a server's answer stands for: the class it names (a ``Drmaa2Error`` subclass), else one with
    the exit code it gives."""
    found = body.get("error") if isinstance(body, dict) else None
    if not isinstance(found, dict):
        return errors.Drmaa2Error(f"the server answered HTTP {status}")
    message = str(found.get("message") or f"the server answered HTTP {status}")
    cls = getattr(errors, str(found.get("kind")), None)
    if isinstance(cls, type) and issubclass(cls, errors.Drmaa2Error):
        return cls(message)
    error = errors.Drmaa2Error(message)
    code = found.get("exit_status")
    if isinstance(code, int) and code in set(errors.ExitStatus):
        error.exit_status = errors.ExitStatus(code)
    return error

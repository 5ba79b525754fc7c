"""Cloud Foundry v3 tasks and DRMAA2 jobs, both ways, without a server: what of a template a task can carry,
the create body, and the job info a task resource implies (state, times, exit status from
``result.failure_reason``). The cf backend sends and reads these; tests check them on saved payloads.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...errors import UnsupportedAttribute
from ...models import JobInfo, JobState, JobTemplate
from .. import ending
from ..base import job_variables

#: The task label that finds a task whose create got no answer: ``drmaa2-job=<home instance>-<job id>``.
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
#: A task drmaa2 cancelled itself: Cloud Foundry sends SIGTERM, and SIGKILL 10 s later if the process is still
#: there, but reports only "cancelled", not the signal that ended it.
KILLED = "killed by drmaa2 kill (SIGTERM; Cloud Foundry does not say whether SIGKILL followed)"
SIGTERM = 15
#: The resource limits a task takes, and the fields of the create body they go in.
LIMITS = {"memory_mb": "memory_in_mb", "disk_mb": "disk_in_mb"}
_EXITED = re.compile(r"Exited with status (-?\d+)")


def check_limits(template: JobTemplate) -> None:
    """Refuse resource limits a task cannot carry; raises UnsupportedAttribute."""
    for key in template.resource_limits:
        if key not in LIMITS:
            raise UnsupportedAttribute(f"the cf backend cannot honour the {key.removesuffix('_mb')} limit",
                                       field=f"resource_limits.{key}")


def command_line(job: JobInfo) -> str:
    """The task command: every argument quoted, so the task's shell hands the program exactly the user's
    arguments; the job id and session go in front as variables for that one command."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in job_variables(job).items())
    return " ".join([env, *(shlex.quote(arg) for arg in job.template.argv)])


def task_body(job: JobInfo) -> dict[str, Any]:
    """The body of ``POST /v3/apps/:guid/tasks`` for a bound ``job`` (its label in ``backend_data``); only
    what the user set, so that Cloud Foundry applies the app's own defaults to the rest."""
    t = job.template
    body: dict[str, Any] = {
        "command": command_line(job),
        "metadata": {"labels": {LABEL: job.backend_data["label"]}},
    }
    if t.job_name:
        # log-cache keeps a task's lines under its name: the tasks of one array, which share the job name,
        # get their index after it so that `logs N.i` reads task i alone.
        _, dot, index = job.id.partition(".")
        body["name"] = f"{t.job_name}.{index}" if dot else t.job_name
    for key, field in LIMITS.items():
        if key in t.resource_limits:
            body[field] = int(t.resource_limits[key])
    if t.extension.get("user"):
        body["user"] = str(t.extension["user"])
    return body


def failure(reason: str | None) -> tuple[int | None, int | None, str]:
    """(exit status, signal, annotation) of a FAILED task from its ``result.failure_reason``. Cloud Foundry
    reports a process killed by signal N as "Exit status 128+N", read as a shell reads it."""
    if not reason:
        return None, None, "task failed (no reason given)"
    if reason.strip().lower() == CANCELLED:
        return None, None, CANCELLED
    m = _EXITED.search(reason)
    if m is None:
        return None, None, reason.strip()
    status = int(m.group(1))
    if "out of memory" in reason.lower():
        return status, None, f"OOM killed (exited with status {status})"
    exit_status, signal = ending.split_status(status)
    if signal is not None:
        return None, signal, ending.by_signal(signal)
    return exit_status, None, ending.exited(status)


def parse_time(value: Any) -> float | None:
    """The epoch seconds of a Cloud Foundry timestamp; None when absent or malformed."""
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
        # The create answer (no native id yet) comes the moment the platform took the task: our own clock then is
        # the start time, finer than created_at's whole seconds (jobs started from a slot in the same second keep
        # their order). A task last seen PENDING started since; one found otherwise started at its created_at.
        seen_pending = job.native_id is not None and job.state is JobState.QUEUED
        dispatch = now if seen_pending or job.native_id is None or created is None else created
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
            changes["exit_status"], changes["signal"], changes["annotation"] = failure(
                (task.get("result") or {}).get("failure_reason")
            )
            if changes["annotation"] == CANCELLED and "terminate_requested" in job.backend_data:
                # We asked (the core marks every kill before sending it): the contract for a job killed by
                # drmaa2 kill is signal 15, exit code 143, on every backend. A cancel by someone else (the cf
                # CLI, the platform) stays without exit status: we cannot know how it ended.
                changes["signal"], changes["annotation"] = SIGTERM, KILLED
    return changes


def adopt(job: JobInfo, task: Mapping[str, Any], now: float) -> JobInfo:
    """``job`` now tracking ``task`` (native id, task name, state)."""
    data = {
        **job.backend_data,
        "task_name": task.get("name"),
        "sequence_id": task.get("sequence_id"),
        "created_at": task.get("created_at"),
    }
    return job.evolve(native_id=str(task["guid"]), backend_data=data, **task_changes(job, task, now))

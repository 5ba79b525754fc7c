"""From a job's pod (as the API shows it) to the job's state and, once it ended, its result, without the API.

A result is a small dict of JobInfo fields (``state`` as its value), written once to the job's result file.
Kubernetes reports a process killed by signal N as exit code 128+N (its ``signal`` field stays empty), and a
command that cannot be started as the container's ``StartError`` with the runtime's message.
"""

from __future__ import annotations

import signal as signals
import time
from datetime import UTC, datetime
from typing import Any

from ...models import JobInfo, JobState
from .. import ending
from .spec import CONTAINER

#: Waiting reasons after which the container will not start without someone's help: shown as the queued
#: job's annotation.
STUCK = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
         "CreateContainerConfigError", "CreateContainerError")
#: The waiting reasons of a container whose image cannot be had: its job fails at the first, as docker and
#: podman refuse a missing image (the kubelet would try again and again, with a growing back-off).
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName")


def epoch(stamp: str | None) -> float | None:
    """Seconds since the epoch of an API time stamp (RFC 3339, UTC, whole seconds)."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def container_status(pod: dict[str, Any]) -> dict[str, Any]:
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if status.get("name") == CONTAINER:
            found: dict[str, Any] = status
            return found
    return {}


def ended(pod: dict[str, Any]) -> bool:
    """Whether the pod's command has ended for good (or will never run). A Failed pod whose container still
    shows running has not: the kubelet is stopping it."""
    phase = pod.get("status", {}).get("phase")
    state = container_status(pod).get("state") or {}
    return "terminated" in state or (phase in ("Succeeded", "Failed") and "running" not in state)


def started(pod: dict[str, Any], submitted: float | None = None) -> float | None:
    """When the container started, if it did. The API keeps whole seconds: a start in the second of the
    submission would read as before it, so it is taken as no earlier than ``submitted``."""
    state = container_status(pod).get("state") or {}
    for key in ("running", "terminated"):
        if key in state:
            begun = epoch(state[key].get("startedAt")) or epoch(pod.get("status", {}).get("startTime"))
            return max(begun, submitted) if begun is not None and submitted is not None else begun
    return None


def observe(job: JobInfo, pod: dict[str, Any]) -> JobInfo:
    """The job's info while its pod has not ended: queued (pending, with why it is stuck), or running."""
    dispatched = started(pod, job.submission_time)
    if dispatched is None:
        waiting = (container_status(pod).get("state") or {}).get("waiting") or {}
        note = None
        if waiting.get("reason") in STUCK:
            note = f"waiting: {waiting['reason']}" + (f" ({waiting['message']})" if waiting.get("message") else "")
        else:
            for condition in pod.get("status", {}).get("conditions") or []:
                if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                    note = f"not scheduled: {condition.get('message') or condition.get('reason')}"
        return job.evolve(state=JobState.QUEUED, annotation=note)
    return job.evolve(state=JobState.RUNNING, dispatch_time=job.dispatch_time or dispatched, annotation=None,
                      machine=pod.get("spec", {}).get("nodeName") or job.machine)


def result_of(job: JobInfo, pod: dict[str, Any] | None, sent: int | str | None,
              deadline: bool = False, stopped_after: float | None = None) -> dict[str, Any]:
    """The result of a job whose pod ended (``pod``), or that has none and never will (None). ``sent`` is what
    ``terminate`` recorded: "stop" (SIGTERM, then SIGKILL after the grace), a signal number, or None;
    ``deadline``: the Job's controller ended it at its ``activeDeadlineSeconds`` (the job's timeout)."""
    now = time.time()
    result: dict[str, Any] = {"state": "failed", "exit_status": None, "signal": None, "finish_time": now}
    status = (pod or {}).get("status", {})
    term = (container_status(pod).get("state") or {}).get("terminated") if pod else None
    deadline = deadline or status.get("reason") == "DeadlineExceeded"
    if not term:
        if sent is not None and stopped_after is not None:
            # ``kill`` followed the running container to its end, but the kubelet removed it before it reported
            # how it ended (a 1.20 race on deleted pods): a container gone within the grace period died of the
            # SIGTERM, one that outlived it of the SIGKILL that followed.
            sig = signals.SIGKILL if sent == signals.SIGKILL or stopped_after >= ending.GRACE_SECONDS - 0.5 \
                else signals.SIGTERM
            result.update(signal=int(sig), dispatch_time=job.dispatch_time,
                          annotation=ending.killed(sig, escalated=sent == "stop" and sig == signals.SIGKILL))
        elif sent is not None:
            result["annotation"] = ending.KILLED_BEFORE_START
        elif deadline:
            result["annotation"] = f"{ending.timed_out(job.template.timeout)} before it started"
        else:
            why = status.get("message") or status.get("reason") or "its pod was removed outside drmaa2"
            result["annotation"] = f"never started: {why}"
        return result
    code, reason, message = term.get("exitCode"), term.get("reason") or "", term.get("message") or ""
    begun, finished = started(pod, job.submission_time) if pod else None, epoch(term.get("finishedAt")) or now
    result.update(dispatch_time=begun, finish_time=max(begun or finished, finished),
                  machine=(pod or {}).get("spec", {}).get("nodeName"))
    killed = ending.killed_by(sent, code)
    if reason in ("StartError", "ContainerCannotRun"):
        text = message.lower()
        status_code = 127 if ("not found" in text or "no such file" in text) else \
            126 if "permission denied" in text else code
        result.update(exit_status=status_code, dispatch_time=None,
                      annotation=ending.exited(status_code) if status_code in (126, 127) else
                      f"cannot start: {' '.join(message.split()) or reason}")
    elif reason == "OOMKilled" and code == 128 + signals.SIGKILL:
        limit = ((_container_spec(pod).get("resources") or {}).get("limits") or {}).get("memory")
        detail = f" (memory limit {limit})" if limit else ""
        result.update(signal=int(signals.SIGKILL), annotation=f"OOM killed{detail}")
    elif sent is None and deadline:
        timed_out = ending.killed_by("timeout", code)
        result.update(signal=timed_out, exit_status=None if timed_out else code)
        result["annotation"] = ending.timed_out(job.template.timeout, timed_out, escalated=True)
        if timed_out is None and code == 0:
            result["state"] = "done"  # it handled SIGTERM and chose success, as a process may
    elif killed is not None:
        # Stopped, not killed with --signal KILL: SIGKILL came only after SIGTERM did nothing.
        result.update(signal=killed, annotation=ending.killed(killed, escalated=sent == "stop"))
    else:
        result.update(ending.of_exit_code(code, oom=reason == "OOMKilled"))
    return result


def _container_spec(pod: dict[str, Any] | None) -> dict[str, Any]:
    for container in (pod or {}).get("spec", {}).get("containers") or []:
        if container.get("name") == CONTAINER:
            found: dict[str, Any] = container
            return found
    return {}


def pull_failure(pod: dict[str, Any]) -> str | None:
    """Why the pod's container will never start for want of its image, naming the image and the kubelet's
    reason ("cannot pull image IMAGE: ErrImagePull (…)"), or None."""
    waiting = (container_status(pod).get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason not in PULL_FAILURES:
        return None
    image = _container_spec(pod).get("image") or container_status(pod).get("image") or "?"
    message = " ".join(str(waiting.get("message") or "").split())
    return f"cannot pull image {image}: {reason}" + (f" ({message})" if message else "")

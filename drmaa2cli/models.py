"""The DRMAA2 data model: job states, job templates and job infos.

Names follow the DRMAA2 standard in snake_case. ``JobInfo.to_dict`` is the stable JSON contract printed by
``--json`` (schema_version 1) and the shape of a record in the store.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

#: A job id: the job number, and for an array task ".INDEX" (12, 12.3). ASCII digits and \Z (not $): "12\n" and
#: "\u0661" (an Arabic-Indic digit, which int() reads as 1) are no job ids.
JOB_ID = re.compile(r"\d{1,12}(\.\d{1,9})?\Z", re.ASCII)

#: A session name. ASCII only, and \Z rather than $ (which also matches before a final newline): "ci\n" is no
#: session name.
SESSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}\Z", re.ASCII)

SCHEMA_VERSION = 1


class JobState(enum.StrEnum):
    """DRMAA2 job states. ``done`` means exit status 0; ``failed`` covers non-zero exits, signals and jobs
    that never started. A job never leaves a final state."""

    UNDETERMINED = "undetermined"
    QUEUED = "queued"
    QUEUED_HELD = "queued_held"
    RUNNING = "running"
    SUSPENDED = "suspended"
    REQUEUED = "requeued"
    REQUEUED_HELD = "requeued_held"
    DONE = "done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self is JobState.DONE or self is JobState.FAILED

    @property
    def held(self) -> bool:
        return self is JobState.QUEUED_HELD or self is JobState.REQUEUED_HELD


ACTIVE_STATES = tuple(s for s in JobState if not s.final)
#: The final states' values, as a stored record holds them.
FINAL_STATES = frozenset(s.value for s in JobState if s.final)


@dataclass
class JobTemplate:
    """What to run and how (DRMAA2 JobTemplate). Only fields the user set are non-empty."""

    remote_command: str = ""
    args: list[str] = field(default_factory=list)
    job_name: str | None = None
    working_directory: str | None = None
    job_environment: dict[str, str] = field(default_factory=dict)
    input_path: str | None = None
    output_path: str | None = None
    error_path: str | None = None
    join_files: bool = False
    # The image (docker) or app (cf): DRMAA2 calls this the job category.
    job_category: str | None = None
    submit_as_hold: bool = False
    # Seconds of run time after which the job is killed (DRMAA2 DeadlineTime, relative to the start).
    timeout: float | None = None
    # A scheduler's queue, or a local queue of the config ([queues.NAME] slots = N) that the core throttles.
    queue_name: str | None = None
    # DRMAA2 priority: among jobs waiting for a slot of a local queue, higher starts first.
    priority: int = 0
    # DRMAA2 startTime (epoch seconds): the job is not started before it.
    start_time: float | None = None
    # DRMAA2 deadlineTime (epoch seconds): the job is killed then, as by a timeout, whenever it started.
    deadline_time: float | None = None
    # DRMAA2 ResourceLimits, parsed by the core: {"memory_mb": int, "disk_mb": int, "cpus": float}.
    resource_limits: dict[str, Any] = field(default_factory=dict)
    # DRMAA2 StageInFiles: host path -> job path (bind mounts on docker, ":ro" suffix allowed).
    stage_in_files: dict[str, str] = field(default_factory=dict)
    # Backend-specific settings (docker user, pull; native scheduler options, ...).
    extension: dict[str, Any] = field(default_factory=dict)
    # DRMAA2 CandidateMachines: the job runs on one of these hosts.
    candidate_machines: list[str] = field(default_factory=list)
    # DRMAA2 MinPhysMemory (KiB): only a machine with at least this much memory runs the job.
    min_phys_memory: int | None = None
    # DRMAA2 AccountingID: the account the platform charges the job to.
    accounting_id: str | None = None
    # DRMAA2 StageOutFiles: host path -> job path, a file copied out of the job's container when it ended.
    stage_out_files: dict[str, str] = field(default_factory=dict)
    # How many times a failed job runs again (``--retries``; not in DRMAA2), and how long after its end.
    retries: int = 0
    retry_delay: float | None = None
    # A note kept with the job (``--comment``; not in DRMAA2): shown by `status`, handed to a scheduler that
    # keeps one. The annotation is not the place: the job's states rewrite it.
    comment: str | None = None
    # DRMAA2 email: who gets mail about the job (``--mail-user``; empty: the submitting user's login), and at
    # which of its events (``--mail-type``: "begin", "end", "fail"; empty: no mail).
    email: list[str] = field(default_factory=list)
    mail_types: list[str] = field(default_factory=list)
    # A command run through ``sh -c`` at the job's events (``--notify``, ``[notify] command``; not in DRMAA2).
    notify_command: str | None = None

    @property
    def argv(self) -> list[str]:
        return [self.remote_command, *self.args]

    def to_dict(self) -> dict[str, Any]:
        # Drop unset fields: records stay small and a template reads as what the user asked for. What
        # ``dataclasses.asdict`` gives, without its recursion into every value (a third of writing the records
        # of a 5,000-task array): only containers are copied, so that the record shares nothing with the template.
        out: dict[str, Any] = {}
        for name in _TEMPLATE_FIELDS:
            value = getattr(self, name)
            if value not in (None, False, [], {}, ""):
                out[name] = _copied(value) if isinstance(value, list | dict) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobTemplate:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_TEMPLATE_FIELDS = tuple(f.name for f in fields(JobTemplate))


def _copied(value: Any) -> Any:
    """A copy of lists and dicts, all the way down (their items are JSON values)."""
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


@dataclass
class JobInfo:
    """What is known about one job (DRMAA2 JobInfo) plus where it lives (session, backend, native id).

    ``id`` is a string: ``"12"`` for a job, ``"12.3"`` for task 3 of array job 12. Times are Unix epoch
    seconds in the store and RFC 3339 in ``to_dict(public=True)``.
    """

    id: str
    session: str
    backend: str
    state: JobState = JobState.UNDETERMINED
    template: JobTemplate = field(default_factory=JobTemplate)
    native_id: str | None = None
    annotation: str | None = None
    exit_status: int | None = None
    signal: int | None = None
    submission_time: float | None = None
    dispatch_time: float | None = None
    finish_time: float | None = None
    cpu_time: float | None = None
    max_rss: int | None = None  # KiB
    machine: str | None = None
    submission_machine: str | None = None
    job_owner: str | None = None
    output_path: str | None = None
    error_path: str | None = None
    # Private to the backend that runs the job (shepherd pid, container name, task guid ...).
    backend_data: dict[str, Any] = field(default_factory=dict)
    # The jobs it was submitted to wait for (--after: mode "ok"; --after-any: "any"), as the user named them.
    after: list[str] | None = None
    after_mode: str | None = None
    # The attempts that ended before this one (``drmaa2 requeue``, ``--retries``), oldest first: each the
    # ATTEMPT_FIELDS of the job as that attempt left it.
    attempts: list[dict[str, Any]] | None = None

    @property
    def name(self) -> str | None:
        return self.template.job_name

    @property
    def attempt(self) -> int:
        """Which run of the job this record describes: 1, and one more for each requeue or retry."""
        return len(self.attempts or ()) + 1

    @property
    def run_id(self) -> str:
        """The job id, and for a second or later attempt ``rN`` after it (12r2, 12.3r2): what platforms name
        the run by (a container, a Kubernetes Job, a task label), so that an attempt never meets the one before."""
        return self.id if not self.attempts else f"{self.id}r{self.attempt}"

    @property
    def number(self) -> int:
        """The job number (the array id for an array task): what the store shards by."""
        return int(self.id.split(".", 1)[0])

    @property
    def wallclock_time(self) -> float | None:
        if self.dispatch_time is None:
            return None
        end = self.finish_time if self.finish_time is not None else time.time()
        return max(0.0, end - self.dispatch_time)

    def evolve(self, **changes: Any) -> JobInfo:
        """A copy with changes; a final state is never left (the store relies on it)."""
        if self.state.final and "state" in changes and changes["state"] != self.state:
            changes.pop("state")
        return replace(self, **changes)

    def exit_code(self) -> int | None:
        """The shell exit code this job stands for: its exit status, or 128+N if signal N killed it."""
        if self.signal is not None:
            return 128 + self.signal
        return self.exit_status

    def exit_code_from(self) -> str | None:
        """Whose ``exit_code()`` it is once the job is final: ``"job"`` (its own exit status, or 128+N for the
        signal that ended it) or ``"drmaa2"`` (the job ended without an exit status: drmaa2's 207)."""
        if not self.state.final:
            return None
        return "drmaa2" if self.exit_code() is None else "job"

    def to_record(self, template: dict[str, Any] | None = None) -> dict[str, Any]:
        """The record the store keeps; ``template``: the template's ``to_dict()`` when the caller has it already
        (an array's tasks most often share one template)."""
        data = {k: v for k, v in self.__dict__.items() if v is not None and v != {}}
        # The store merges a record into the stored one field by field (None leaves a field as it was), so
        # backend_data is always written: a job whose backend data became empty (the runner's mark
        # removed once it started the job) must lose the old data, or the runner starts it again and again.
        data["backend_data"] = self.backend_data
        data["state"] = self.state.value
        data["template"] = self.template.to_dict() if template is None else template
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> JobInfo:
        data = dict(data)
        data["state"] = JobState(data.get("state", "undetermined"))
        data["template"] = JobTemplate.from_dict(data.get("template", {}))
        known = _JOBINFO_FIELDS
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_public(self) -> dict[str, Any]:
        """The JSON contract for scripts (schema_version 1); see README "JSON output"."""
        t = self.template
        return {
            "id": self.id,
            "name": t.job_name,
            "comment": t.comment,
            "session": self.session,
            "backend": self.backend,
            "native_id": self.native_id,
            "state": self.state.value,
            "annotation": self.annotation,
            "exit_status": self.exit_status,
            "signal": self.signal,
            "exit_code": self.exit_code() if self.state.final else None,
            "exit_code_from": self.exit_code_from(),
            "command": t.argv,
            "category": t.job_category,
            "working_directory": t.working_directory,
            "output_path": self.output_path,
            "error_path": self.error_path,
            "submission_time": rfc3339(self.submission_time),
            "dispatch_time": rfc3339(self.dispatch_time),
            "finish_time": rfc3339(self.finish_time),
            "wallclock_time": _round(self.wallclock_time),
            "cpu_time": _round(self.cpu_time),
            "max_rss": self.max_rss,
            "machine": self.machine,
            "submission_machine": self.submission_machine,
            "job_owner": self.job_owner,
            "after": self.after,
            "after_mode": self.after_mode,
            "queue": t.queue_name,
            "priority": t.priority,
            "start_time": rfc3339(t.start_time),
            "deadline_time": rfc3339(t.deadline_time),
            "retries": t.retries,
            "attempt": self.attempt,
            "attempts": [public_attempt(a) for a in self.attempts or ()],
        }


#: What a record keeps of each attempt that ended (``JobInfo.attempts``).
ATTEMPT_FIELDS = ("state", "exit_status", "signal", "annotation", "native_id", "machine", "dispatch_time",
                  "finish_time", "cpu_time", "max_rss")
_ATTEMPT_TIMES = frozenset({"dispatch_time", "finish_time"})


def public_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    """One attempt as ``--json`` shows it: every ATTEMPT_FIELDS key, times in RFC 3339."""
    return {k: rfc3339(attempt.get(k)) if k in _ATTEMPT_TIMES else attempt.get(k) for k in ATTEMPT_FIELDS}


@dataclass(frozen=True)
class ArraySpec:
    """A DRMAA2 bulk job: task indices first..last by step, at most ``max_parallel`` running at once."""

    first: int
    last: int
    step: int = 1
    max_parallel: int | None = None
    #: An explicit list of indices (sbatch's ``1,3,5-9``), ascending; ``first``/``last`` are then its ends.
    only: tuple[int, ...] | None = None

    @property
    def indices(self) -> Sequence[int]:
        return self.only if self.only is not None else range(self.first, self.last + 1, self.step)


@dataclass
class Dependencies:
    """Start only after ``jobs`` ended: all done (mode "ok", like afterok) or whatever the result ("any")."""

    jobs: list[JobInfo]
    mode: str = "ok"


_JOBINFO_FIELDS = frozenset(f.name for f in fields(JobInfo))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order(job: JobInfo) -> tuple[int, int]:
    """The sort key of a job: its job number, then its task index (12 before 12.2 before 12.10)."""
    number, _, task = job.id.partition(".")
    return int(number), int(task or 0)

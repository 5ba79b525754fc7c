"""The backend contract: what every backend (process, docker, cf, slurm, gridengine, ...) implements.

The core (``drmaa2cli.service``) owns the job store, ids, sessions and the exit-code contract; a backend only
starts, observes and controls jobs on its platform. The submit protocol is two-phase so that a job that
started always has a committed record, and a record never points at nothing for long:

1. ``prepare(template)`` -- before a job id exists: validate the template for this platform, check that
   the platform answers (raise ``BackendUnavailable``/``DeniedByDrms`` here, so no record is written), and
   return a ``Launch``. No side effect that cannot be abandoned.
2. ``Launch.bind(job)`` -- inside the store transaction, once the id is known: fill ``native_id``,
   ``backend_data`` and output paths that can be derived without talking to the platform. Must be quick.
3. ``Launch.start(job)`` -- after the record is committed: start the job. Return the updated ``JobInfo``
   if the record must change (a native id only known now), else ``None``. A ``Drmaa2Error`` raised here
   marks the committed job failed with the message as its annotation.
   ``Launch.abort()`` is called instead of ``start`` when the record could not be committed.

Job arrays, dependencies and holds: a backend lists in ``native_features`` what its platform does itself
("array", "after", "hold"); ``prepare`` then receives ``array=`` / ``after=`` keyword arguments (never one for a
feature it does not list), ``bind`` is called once per task record and ``start_all`` once for all of them. The
core holds every backend wrapped in ``deferred.wrapper.StartLater``, which does what a backend does not do
natively with a small detached runner that starts the jobs later through the plain protocol, so every backend
gets the same job control.

Observation is batch-oriented (``refresh`` takes every active job of this backend at once) and waiting is
event-driven (``wait_any`` returns when one of the jobs may have ended). Optional operations raise
``UnsupportedOperation`` by default so that the CLI says in one place what a backend cannot do.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeAlias

from ..errors import Drmaa2Error, UnsupportedAttribute, UnsupportedOperation
from ..models import ArraySpec, Dependencies, JobInfo, JobTemplate

if TYPE_CHECKING:
    from ..monitoring import MachineInfo, PlatformJob, QueueInfo
    from .contract import Refusal


@dataclass(frozen=True)
class BackendContext:
    """What a backend may know of its surroundings.

    ``home`` is the drmaa2 home (store and default output live there); ``instance`` is a short random id
    of that home, for names on shared platforms (container names, task names) that must not collide with
    another home's; ``settings`` are this backend's settings from the config file (``[backends.NAME]``);
    ``environ`` is the environment to read variables such as ``DOCKER_HOST`` or ``CF_HOME`` from.
    """

    home: Path
    instance: str = "local"
    settings: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def output_dir(self) -> Path:
        return self.home / "output"

    def default_output(self, job_id: str, stream: str) -> str:
        """The per-job file that receives ``stream`` ("out" or "err") when the user gave no path."""
        return str(self.output_dir / f"{job_id}.{stream}")


def job_variables(job: JobInfo) -> dict[str, str]:
    """The variables every job sees, on every backend: DRMAA2_JOB_ID (the array id for a task),
    DRMAA2_TASK_ID (array tasks only) and DRMAA2_SESSION."""
    number, _, task = job.id.partition(".")
    variables = {"DRMAA2_JOB_ID": number, "DRMAA2_SESSION": job.session}
    if task:
        variables["DRMAA2_TASK_ID"] = task
    return variables


#: The shape of a backend's ``backend_data``: key -> the types its value may hold (besides null), or the shape
#: of the object it holds. Plain data, so that a backend package can declare it without importing anything.
Shape: TypeAlias = "Mapping[str, tuple[type, ...] | Shape]"
#: Template fields only some platforms can honour: refused by every backend that does not list them in
#: ``honours``, so that a field added later is refused everywhere until a backend takes it, never dropped.
OPT_IN_FIELDS = ("candidate_machines", "min_phys_memory", "accounting_id", "stage_out_files")


class StdinSink(Protocol):
    """Where a job's standard input is written (a socket to the platform)."""

    def sendall(self, data: bytes, /) -> None: ...

    def shutdown(self, how: int, /) -> None: ...

    def close(self) -> None: ...


#: What a template's ``extension`` key means, in the words of the option that sets it.
_EXTENSION_OPTIONS = {"user": "--user", "pull": "--pull", "native": "--native", "stdin": "standard input",
                      "contact": "--contact"}


def data_problem(data: Mapping[str, Any], shape: Shape) -> str | None:
    """The first value of ``data`` (a record's ``backend_data``) whose type ``shape`` does not allow, as
    "backend data KEY has the wrong type", or None. Keys ``shape`` does not name are left alone (records
    written by other versions); nested objects are checked after every key at their level."""
    nested = []
    for key, allowed in shape.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(allowed, Mapping):
            if not isinstance(value, dict):
                return f"backend data {key} has the wrong type"
            nested.append((value, allowed))
        elif not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            return f"backend data {key} has the wrong type"  # JSON true is not a number here
    for value, inner in nested:
        bad = data_problem(value, inner)
        if bad is not None:
            return bad
    return None


class Launch(ABC):
    """One submission in progress (see the module docstring for the protocol)."""

    def bind(self, job: JobInfo) -> None:  # noqa: B027 - optional hook, default does nothing
        """Fill what can be derived from the job id alone; runs under the store lock."""

    @abstractmethod
    def start(self, job: JobInfo) -> JobInfo | None:
        """Start the job whose record is committed. Raises ``Drmaa2Error`` if it cannot start."""

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        """Start every bound job (the tasks of an array); returns the infos that changed."""
        return [new for job in jobs if (new := self.start(job)) is not None]

    def abort(self) -> None:  # noqa: B027 - optional hook
        """The record was not committed: abandon whatever ``prepare`` set up."""


class Backend(ABC):
    """Base class of every backend. Subclasses set ``name`` and implement the abstract methods."""

    name: ClassVar[str]
    #: Job control the platform does itself: any of "array", "after" (same-backend dependencies), "hold".
    native_features: ClassVar[frozenset[str]] = frozenset()
    #: Template fields this backend cannot honour; ``check_template`` refuses them by name.
    unsupported_fields: ClassVar[tuple[str, ...]] = ()
    #: The fields of ``OPT_IN_FIELDS`` this backend honours (the others are refused like ``unsupported_fields``).
    honours: ClassVar[frozenset[str]] = frozenset()
    #: The keys of ``JobTemplate.extension`` this backend honours (docker: user, pull, native; the schedulers:
    #: native); ``check_template`` refuses any other key that asks for something.
    extensions: ClassVar[frozenset[str]] = frozenset()
    #: What a job category names on this platform: "image" (the container backends), "app" (cf); None: the
    #: backend refuses one (``unsupported_fields``). `--image` and `--app` are worded by it.
    category: ClassVar[str | None] = None
    #: The keys of ``JobTemplate.resource_limits`` this backend can honour (the process backend's need a cgroup,
    #: so they may still be refused at run time); the others are refused when the job starts.
    limits: ClassVar[frozenset[str]] = frozenset()
    #: What this backend keeps in a job's ``backend_data`` (see ``check_data``); declared in the backend's
    #: package as ``DATA_SHAPE`` so that the store can check a record without loading the backend.
    data_shape: ClassVar[Shape] = {}
    #: ``refresh`` reads only this machine's files (no daemon, no network): the core may then refresh a few
    #: old active jobs on any write of the store, so that ended ones leave the live file without a status call.
    local_refresh: ClassVar[bool] = False
    #: Jobs open their standard input on this machine when they start: `drmaa2 run` may then stream its own
    #: standard input to them through a named pipe (others get a copy of it as a file, see ``core.stdin``).
    local_input: ClassVar[bool] = False
    #: The platform can connect to a started job's standard input (``attach_stdin``; docker): `drmaa2 run`
    #: then streams its own standard input there.
    attaches_stdin: ClassVar[bool] = False
    #: A job sees the files of the submitting machine (the drmaa2 home): a job script runs from its copy
    #: there. False for containers and tasks, which get the script's text in their command line instead.
    sees_home: ClassVar[bool] = True
    #: The family of batch scripts whose scheduler this backend drives ("sbatch", "qsub"): their directives
    #: reach it unchanged (``drmaa2cli/jobscript``). None for the others, which treat them as declared there.
    script_family: ClassVar[str | None] = None
    #: Jobs run on this machine: a script's requests (tasks x cpus, GPUs) are checked against its own.
    runs_here: ClassVar[bool] = False
    #: The platform keeps one log per job (stdout and stderr together): a separate error file is refused.
    one_log: ClassVar[bool] = False
    #: The cases of the one contract (``contract.CASES``) this backend does not honour, and why; the
    #: conformance suite checks these refusals instead, and the README's contract table is made from them.
    refuses: ClassVar[Mapping[str, Refusal]] = {}
    #: The ways this backend may contain a job's processes, mode -> {"when", "tree", "accounting", "limits"}:
    #: what each gives, for the README's table under the contract's (``contract.modes_table``).
    containment_modes: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    #: What this backend does itself of a job's notifications: "mail" (the platform's own mail: the schedulers'),
    #: "events" (its own process sees the job begin and end and runs ``notify.fire``: the process shepherd). The
    #: rest is done by a watcher process (``notify.watch``).
    notifies: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.refuses:  # the contract's cases are loaded only by a backend that refuses one
            from .contract import check

            check(cls.refuses, cls.__name__)

    def __init__(self, ctx: BackendContext) -> None:
        self.ctx = ctx

    # --- submission -------------------------------------------------------------------------------
    def parallel_limit(self, array: ArraySpec) -> int | None:
        """How many of ``array``'s tasks may run at once, None for no limit of drmaa2's (the platform's own):
        its ``%N``, ``%0`` meaning none. A backend that runs tasks on this machine gives a safe default when
        there is no ``%N``. The wrapper (``deferred.wrapper``) asks once per submission, so ``prepare`` gets
        the array with this limit."""
        return array.max_parallel or None

    @abstractmethod
    def prepare(
        self, template: JobTemplate, *, array: ArraySpec | None = None, after: Dependencies | None = None
    ) -> Launch:
        """Validate ``template`` and check the platform; raises InvalidArgument, BackendUnavailable,
        DeniedByDrms. Nothing is written to the store before this returns. ``array`` and ``after`` come only
        for features listed in ``native_features``: the platform runs the array's tasks and waits for the
        dependencies itself."""

    @classmethod
    def refused_fields(cls) -> tuple[str, ...]:
        """Every template field this backend refuses: ``unsupported_fields`` and the opt-in fields it does not
        honour."""
        return (*cls.unsupported_fields, *(f for f in OPT_IN_FIELDS if f not in cls.honours))

    def check_template(self, template: JobTemplate) -> None:
        """Refuse the fields of ``refused_fields`` and extension keys not in ``extensions`` with one clear
        message (UnsupportedAttribute). An extension set to a false value asks for nothing."""
        for name in self.refused_fields():
            if getattr(template, name):
                raise UnsupportedAttribute(
                    f"the {self.name} backend cannot honour {name.replace('_', ' ')}", field=name
                )
        for key, value in template.extension.items():
            if value and key not in self.extensions:
                what = _EXTENSION_OPTIONS.get(key, f"the extension {key!r}")
                raise UnsupportedAttribute(f"the {self.name} backend cannot honour {what}",
                                           field=f"extension.{key}")

    @classmethod
    def check_data(cls, data: Mapping[str, Any]) -> str | None:
        """What is wrong with ``data``, the ``backend_data`` of a record of this backend read from the store
        (a value of the wrong type: "backend data pid has the wrong type"), or None: the types declared in
        ``data_shape``. Declared as data rather than code so that the store can check a record without loading
        the backend (``backends.check_data``)."""
        return data_problem(data, cls.data_shape)

    # --- observation ------------------------------------------------------------------------------
    @abstractmethod
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Ask the platform about these non-final jobs; return new ``JobInfo`` objects for those whose
        info changed (never a final job moved to another state). Raises BackendUnavailable when the
        platform cannot be asked; the caller then keeps the last known state."""

    @abstractmethod
    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        """Block until at least one of ``jobs`` may have reached a final state, or ``timeout`` seconds
        (``None``: no limit) have passed. Woken by the platform's own events where it has them; returning
        early is allowed because the caller refreshes and calls again."""

    # --- control ----------------------------------------------------------------------------------
    @abstractmethod
    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """End the job. ``signal`` None means the backend's graceful default (SIGTERM, then SIGKILL after a
        grace period); a number sends exactly that signal. Raises InvalidState if it already ended.
        Before calling this the core records ``backend_data["terminate_requested"]`` (the signal) on the job, so
        that a platform reporting only "cancelled" can still end it as killed by SIGTERM (see cf/map.py)."""

    def suspend(self, job: JobInfo) -> None:
        raise UnsupportedOperation(f"the {self.name} backend cannot suspend jobs")

    def resume(self, job: JobInfo) -> None:
        raise UnsupportedOperation(f"the {self.name} backend cannot resume jobs")

    def hold(self, job: JobInfo) -> None:
        raise UnsupportedOperation(f"the {self.name} backend cannot hold jobs")

    def release(self, job: JobInfo) -> None:
        raise UnsupportedOperation(f"the {self.name} backend cannot release jobs")

    def control(self, action: str, jobs: Sequence[JobInfo], *args: object,
                before: Callable[[Sequence[JobInfo]], None] | None = None) -> list[JobInfo | Drmaa2Error | None]:
        """Apply ``action`` ("terminate", "suspend", "resume", "hold", "release") to each of ``jobs``, with
        ``args`` (the signal of a terminate); ``before`` is called first with the jobs about to be handed to the
        platform. One outcome per job, in order: the job when the platform took the action (the core then
        records a hold or release), the ``Drmaa2Error`` it raised, or None when the outcome is recorded
        already (a wrapper that keeps a job in its record, ``drmaa2cli/deferred/``). The core controls a batch
        through this method: a wrapper can then write many records in one store transaction."""
        if before is not None and jobs:
            before(jobs)
        outcomes: list[JobInfo | Drmaa2Error | None] = []
        for job in jobs:
            try:
                getattr(self, action)(job, *args)
                outcomes.append(job)
            except Drmaa2Error as e:
                outcomes.append(e)
        return outcomes

    def setup(self) -> dict[str, str]:
        """What ``drmaa2 config`` shows of how this backend works on this machine (the process backend: which
        containment is in force), as name -> text. Asks nothing of a remote platform."""
        return {}

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        """The job's output so far on ``stream`` ("out" or "err") when the platform holds it (a running
        container's log, a CF task's log-cache lines); ``None`` when it is in ``job.output_path`` /
        ``job.error_path`` on this machine, which the core then reads itself."""
        return None

    def will_follow(self) -> None:
        """This process will follow (``follow_output``) the output of the jobs it starts from now on: a backend
        whose platform gives a job's output as it comes only to whom asked before the job started (a container's
        attach) asks at the start. Nothing by default."""
        return None

    def follow_output(self, job: JobInfo, streams: Sequence[str],
                      offsets: Mapping[str, int]) -> Iterator[tuple[str, bytes]] | None:
        """The output of ``job`` (running) on ``streams`` ("out", "err") as the platform receives it, from byte
        ``offsets[stream]`` on, as (stream, bytes) until the platform has given all of it (the job ended), when
        the platform offers such a stream; ``None`` when it does not (the core then polls ``output``). Raises
        what ``output`` raises, also while iterating; the core then goes on polling from where it got to."""
        return None

    def attach_stdin(self, job: JobInfo) -> StdinSink:
        """A connection to the standard input of ``job``, which has started (backends with
        ``attaches_stdin``, whose jobs were submitted with the template extension ``stdin``): what is sent
        reaches the job, and ``shutdown(SHUT_WR)`` gives it its end of file. Raises UnsupportedOperation,
        InvalidState (the job has ended), BackendUnavailable."""
        raise UnsupportedOperation(f"the {self.name} backend cannot attach to a job's standard input")

    def cleanup(self, job: JobInfo) -> None:  # noqa: B027 - optional hook
        """Remove what the platform keeps for a finished job whose record is being reaped."""

    def cleanup_many(self, jobs: Sequence[JobInfo]) -> list[tuple[str, Drmaa2Error]]:
        """``cleanup`` of many jobs (``rm --finished``); the errors, by job id, are returned, not raised. A
        backend whose traces are files overrides it to look at each directory once."""
        errors: list[tuple[str, Drmaa2Error]] = []
        for job in jobs:
            try:
                self.cleanup(job)
            except Drmaa2Error as e:
                errors.append((job.id, e))
        return errors

    # --- monitoring (DRMAA2 MonitoringSession) -------------------------------------------------------
    # Optional: a backend that cannot describe its platform refuses with one line, as for the optional
    # controls. An empty list is an answer ("this platform has no queues"), not a refusal.
    def machines(self) -> list[MachineInfo]:
        """The platform's execution hosts (this machine, the engine's host, the cluster's nodes), asked
        now. Raises BackendUnavailable, DeniedByDrms like any call to the platform."""
        raise UnsupportedOperation(f"the {self.name} backend cannot list machines")

    def queues(self) -> list[QueueInfo]:
        """Where jobs can be submitted (partitions, cluster queues, the space); [] when the platform has
        no such thing. Raises BackendUnavailable, DeniedByDrms."""
        raise UnsupportedOperation(f"the {self.name} backend cannot list queues")

    def categories(self) -> list[str]:
        """The job categories a template may name (docker: the engine's images; cf: the space's apps); [] for a
        backend without categories. Raises BackendUnavailable, DeniedByDrms."""
        return []

    def platform_jobs(self) -> list[PlatformJob]:
        """Every job the platform shows this user, drmaa2's or not, with ``drmaa2_id`` left empty (the core
        marks drmaa2's own from its records by native id). The default refusal makes the core list only
        drmaa2's own jobs of this backend."""
        raise UnsupportedOperation(f"the {self.name} backend cannot list jobs drmaa2 did not submit")

"""The base class of the Slurm and Grid Engine backends: what they do alike around their own commands.

Both check a template the same way before asking the scheduler (``_probe``), submit a generated job script
on the submit command's stdin, keep ended jobs in an ``EndedCache``, poll because neither scheduler has
events, and hold, release, suspend and resume a job with one control command each. A subclass names its
commands (``_submit_command``, ``_control_command``), reads its scheduler's answers (``_job_number``,
``_ask``) and turns its complaints into errors (``_job_error``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, TypeVar

from ...errors import (
    BackendUnavailable,
    DeniedByDrms,
    Drmaa2Error,
    ExitStatus,
    InvalidArgument,
    InvalidState,
    UnsupportedAttribute,
)
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ..base import Backend, BackendContext
from ..contract import NO_IMAGES, Refusal
from . import DATA_SHAPE, common

T = TypeVar("T")


class SchedulerBackend(Backend):
    """A batch scheduler driven through its client commands, with the context's environment.

    Subclasses set ``label``, ``task_var``, ``unreachable`` and ``denied`` and implement the abstract
    methods; the client commands raise BackendUnavailable when they are missing or do not answer.
    """

    #: How messages name the scheduler ("slurm", "grid engine").
    label: ClassVar[str]
    #: The scheduler's task-index variable (SLURM_ARRAY_TASK_ID, SGE_TASK_ID).
    task_var: str
    #: Words in the scheduler's complaints that mean "it cannot be reached" and "you may not".
    unreachable: ClassVar[tuple[str, ...]]
    denied: ClassVar[tuple[str, ...]]
    #: Extra scheduler options (``--native``), passed as they are.
    extensions: ClassVar[frozenset[str]] = frozenset({"native"})
    #: ``--mail-type`` goes to the scheduler (sbatch --mail-type, qsub -m), whose own mailer sends it: drmaa2
    #: sends none, so that an event never makes two mails.
    notifies: ClassVar[frozenset[str]] = frozenset({"mail"})
    refuses: ClassVar[Mapping[str, Refusal]] = {
        "slots": Refusal("`--queue` is the scheduler's own partition or queue, whose limits it keeps: a local "
                         "queue is refused", ExitStatus.USAGE),
        "priority": Refusal("a user may only lower a job's priority on these schedulers (`--nice`, `qsub -p` "
                            "up to 0): `--priority` is refused", ExitStatus.USAGE),
        **NO_IMAGES,
    }
    data_shape = DATA_SHAPE

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self._ended = common.EndedCache()

    # --- helpers ------------------------------------------------------------------------------------
    def _run(self, argv: Sequence[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return common.run(argv, self.ctx.environ, stdin)

    def _refused(self, what: str, message: str) -> Drmaa2Error:
        """The error for a complaint of the scheduler about ``what``: BackendUnavailable when it cannot be
        reached, DeniedByDrms when it refuses us, InvalidArgument otherwise."""
        low = message.lower()
        if any(w in low for w in self.unreachable):
            return BackendUnavailable(f"{self.label} does not answer ({what}: {message})")
        if any(w in low for w in self.denied):
            return DeniedByDrms(f"{self.label} refused {what}: {message}")
        return InvalidArgument(f"{self.label} refused {what}: {message}")

    @staticmethod
    @abstractmethod
    def task_native_id(native_id: str, index: int) -> str:
        """The native id of task ``index`` of array job ``native_id``."""

    # --- submission ---------------------------------------------------------------------------------
    def prepare(
        self,
        template: JobTemplate,
        *,
        array: ArraySpec | None = None,
        after: Dependencies | None = None,
    ) -> common.ScriptLaunch:
        """Check the template, its directories here and, with ``_probe``, that the scheduler answers and
        would take it. Nothing is submitted yet.

        Raises InvalidArgument/UnsupportedAttribute for what the scheduler cannot run (dependencies where
        "after" is not a native feature: the core's runner handles those), BackendUnavailable when it
        does not answer, DeniedByDrms when it refuses us.
        """
        self.check_template(template)
        deps = None
        if after is not None:
            if "after" not in self.native_features:
                raise UnsupportedAttribute(f"the {self.name} backend leaves dependencies to drmaa2's runner")
            missing = [j.id for j in after.jobs if not j.native_id]
            if missing:
                raise InvalidArgument(f"job {missing[0]} has no {self.label} job id to depend on")
            deps = common.After([str(j.native_id) for j in after.jobs], after.mode, [j.id for j in after.jobs])
        launch = common.ScriptLaunch(self, template, array, deps)
        paths = launch.paths(template, "0")
        common.check_local_paths(self.ctx, paths)
        self._probe(template, paths, array, deps)
        return launch

    @abstractmethod
    def _probe(
        self, template: JobTemplate, paths: common.Paths, array: ArraySpec | None, after: common.After | None
    ) -> None:
        """Refuse what the scheduler cannot run and show that it answers, before any record exists."""

    @staticmethod
    def job_name(template: JobTemplate) -> str:
        return template.job_name or os.path.basename(template.remote_command) or "drmaa2"

    @abstractmethod
    def _submit_command(
        self, template: JobTemplate, paths: common.Paths, array: ArraySpec | None, after: common.After | None
    ) -> list[str]:
        """The submit command line; raises InvalidArgument for what the scheduler cannot express."""

    @abstractmethod
    def _job_number(self, stdout: str) -> str:
        """The job id in the submit command's output; raises InvalidArgument when there is none."""

    def submit(
        self,
        template: JobTemplate,
        paths: common.Paths,
        spec: common.JobSpec,
        array: ArraySpec | None,
        after: common.After | None,
    ) -> str:
        """Submit the job script; returns the scheduler's job id. Raises BackendUnavailable, DeniedByDrms,
        InvalidArgument."""
        os.makedirs(self.ctx.output_dir, mode=0o700, exist_ok=True)
        env = None
        if common.own_names(paths):
            spec, env = self._own_files(spec, paths)
        proc = common.run(self._submit_command(template, paths, array, after),
                          env or self.ctx.environ, common.job_script(spec))
        if proc.returncode != 0:
            raise self._refused("the job", common.message(proc))
        return self._job_number(proc.stdout)

    def _own_files(self, spec: common.JobSpec, paths: common.Paths) -> tuple[common.JobSpec, Mapping[str, str]]:
        """The job script and the submit command's environment for a job whose files the scheduler names
        itself (``NATIVE_ID``), so that it creates them 0600 or the job makes them so before its command runs.
        By default the job script does (``JobSpec.private``); the environment is the context's."""
        return spec, self.ctx.environ

    # --- observation --------------------------------------------------------------------------------
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Jobs an earlier refresh saw end come from the cache, the others from ``_ask``. Jobs that the
        scheduler does not know keep their last known state. Raises BackendUnavailable when it cannot
        answer."""
        active = [j for j in jobs if j.native_id and not j.state.final]
        known, ask = self._ended.split(active)
        asked = {j.id: j for j in ask}
        # A job whose times had to be put in order differs from the scheduler's answer every time: only
        # what is news after that counts as changed.
        fixed = (self._finished(common.times_in_order(j)) for j in (self._ask(ask) if ask else []))
        changed = [j for j in fixed if j != asked.get(j.id)]
        self._ended.remember(changed)
        fresh = {j.id: j for j in changed}
        self._carry_out_stale_kills([fresh.get(j.id, j) for j in ask])
        return known + changed

    def _control_prefix(self, job: JobInfo) -> str:
        return common.control_prefix(self.ctx, job.id)

    def _finished(self, job: JobInfo) -> JobInfo:
        """An ended job with what drmaa2's kill or timeout did to it (``common.how_it_ended``)."""
        return common.how_it_ended(job, self._control_prefix(job)) if job.state.final else job

    def _carry_out_stale_kills(self, jobs: list[JobInfo]) -> None:
        """A kill request the job's watcher has not carried out in time (no shared file system, the watcher
        gone): the scheduler ends the job instead."""
        now = time.time()
        for job in jobs:
            if job.state.final:
                continue
            try:
                requested = os.stat(self._control_prefix(job) + ".kill").st_mtime
            except OSError:
                continue
            if now - requested > common.FALLBACK_SECONDS:
                # Ended meanwhile, or the scheduler does not answer: the next refresh tries again.
                with contextlib.suppress(Drmaa2Error):
                    self._cancel(job, 9)

    @abstractmethod
    def _ask(self, active: list[JobInfo]) -> list[JobInfo]:
        """The scheduler's news about these active jobs: the ones that changed, updated."""

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        """Poll (~50 ms growing to ~1 s) until one of ``jobs`` has ended or ``timeout`` passed."""
        active = [j for j in jobs if j.native_id and not j.state.final]
        if len(active) < len(jobs):
            return
        # Each poll starts from what the last one learnt (Grid Engine notes when a job went missing).
        current = list(active)

        def ended() -> bool:
            nonlocal current
            fresh = {j.id: j for j in self.refresh(current)}
            current = [fresh.get(j.id, j) for j in current]
            return any(j.state.final for j in current)

        common.poll_until(ended, timeout)

    # --- control ------------------------------------------------------------------------------------
    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """The graceful default (and SIGTERM): SIGTERM to the job's process group, SIGKILL after
        GRACE_SECONDS, done by the job's watcher on seeing drmaa2's request (``common.job_script``), the
        same on every scheduler; a job that has not started is cancelled by the scheduler. SIGKILL: the
        request (for the annotation), then the scheduler's cancel at once. Other signals: ``_signal``.
        Raises InvalidState when the job has already ended."""
        if signal not in (None, 9, 15):
            self._signal(job, signal)
            return
        self._native(job)
        prefix = self._control_prefix(job)
        common.write_control(prefix + ".kill", "9" if signal == 9 else "15")
        if signal == 9:
            try:
                self._cancel(job, signal)
            except InvalidState:
                # A watcher that had just started saw the request first and SIGKILLed the job itself; the
                # scheduler then knows the ended job no longer. The kill was done.
                if (common.read_control(prefix + ".end") or "").split()[:1] != ["kill"]:
                    raise
        elif job.state in (JobState.QUEUED, JobState.QUEUED_HELD, JobState.REQUEUED, JobState.REQUEUED_HELD,
                           JobState.UNDETERMINED):
            # Nothing runs yet for a watcher to signal. The record may be a moment old: only a job the
            # scheduler still holds back is cancelled; one that started meanwhile is ended by its watcher,
            # which sees the request at once (a plain cancel would SIGKILL it on Grid Engine).
            self._cancel_pending(job)
        elif job.state is JobState.SUSPENDED:
            # Its watcher is stopped with it: resume it, and the watcher signals at once.
            self._control(job, "resume")

    @abstractmethod
    def _cancel(self, job: JobInfo, signal: int | None) -> None:
        """End the job through the scheduler (scancel, qdel). Raises InvalidState when it has ended."""

    @abstractmethod
    def _cancel_pending(self, job: JobInfo) -> None:
        """Cancel the job if, and only if, it has not started; leave a running one alone. Raises InvalidState
        when it has ended."""

    @abstractmethod
    def _signal(self, job: JobInfo, signal: int) -> None:
        """Send ``signal`` (not SIGTERM or SIGKILL) to the job, or raise UnsupportedOperation."""

    def cleanup(self, job: JobInfo) -> None:
        for suffix in (".kill", ".end"):
            with contextlib.suppress(OSError):
                os.unlink(self._control_prefix(job) + suffix)

    def _native(self, job: JobInfo) -> str:
        if not job.native_id:
            raise InvalidState(f"job {job.id} has no {self.label} job id")
        return job.native_id

    @abstractmethod
    def _control_command(self, action: str, native_id: str) -> list[str]:
        """The command line that does ``action`` (hold, release, suspend, resume) to one job; the native
        id comes last."""

    @abstractmethod
    def _job_error(self, job: JobInfo, what: str, msg: str) -> Drmaa2Error:
        """The error for the scheduler's complaint ``msg`` about doing ``what`` (a command) to ``job``:
        InvalidState when the job has already ended."""

    def _control(self, job: JobInfo, action: str) -> None:
        argv = self._control_command(action, self._native(job))
        proc = self._run(argv)
        if proc.returncode != 0:
            raise self._job_error(job, " ".join(argv[:-1]), common.message(proc))

    def hold(self, job: JobInfo) -> None:
        """Only a queued job can be held (InvalidState otherwise)."""
        if job.state not in (JobState.QUEUED, JobState.QUEUED_HELD, JobState.REQUEUED):
            raise InvalidState(f"job {job.id} is {job.state.value}: only queued jobs can be held")
        self._control(job, "hold")
        # A job dispatched in the moment before the hold (Slurm schedules at submission) may take the hold
        # without effect: a hold is reported done only if the scheduler shows the job still waiting.
        now = next((j for j in self._ask([job]) if j.id == job.id), job)
        if now.state not in (JobState.QUEUED, JobState.QUEUED_HELD, JobState.REQUEUED, JobState.REQUEUED_HELD):
            raise InvalidState(f"job {job.id} has started ({now.state.value}); only queued jobs can be held")

    def release(self, job: JobInfo) -> None:
        self._control(job, "release")

    def suspend(self, job: JobInfo) -> None:
        """Only a running job can be suspended (InvalidState otherwise); a scheduler may allow it to
        operators only (UnsupportedOperation)."""
        common.check_control(job, "suspend")
        self._control(job, "suspend")

    def resume(self, job: JobInfo) -> None:
        """Only a suspended job can be resumed (InvalidState otherwise)."""
        common.check_control(job, "resume")
        self._control(job, "resume")

    # --- monitoring ---------------------------------------------------------------------------------
    def _listing(self, argv: Sequence[str], parse: Callable[[str], list[T]]) -> list[T]:
        """Run one of the scheduler's listing commands and parse what it printed."""
        proc = self._run(argv)
        if proc.returncode != 0:
            raise self._refused(argv[0], common.message(proc))
        try:
            return parse(proc.stdout)
        except (ValueError, ET.ParseError) as e:
            raise BackendUnavailable(f"{argv[0]} printed what drmaa2 cannot read: {e}") from e

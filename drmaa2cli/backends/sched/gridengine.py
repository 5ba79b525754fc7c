"""Grid Engine (Son of Grid Engine, Univa/Altair GE) jobs through its client commands (qsub, qstat, qacct,
qdel, qhold, qrls, qmod).

Each job is a generated ``/bin/sh`` script on qsub's stdin that ``exec``s the exact command (``qsub -b y``
would re-split the command line). Arrays (``-t``/``-tc``) and holds (``-h``) are Grid Engine's own;
dependencies are left to the core's runner because ``-hold_jid`` cannot wait for success only. Grid Engine
has no events: ``wait_any`` polls qstat with a growing interval. Command lines and parsing live in
``gridengine_cmd`` (pure, tested on saved output).
"""

from __future__ import annotations

import contextlib
import getpass
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from ...errors import BackendUnavailable, Drmaa2Error, ExitStatus, InvalidState, UnsupportedOperation
from ...models import ArraySpec, JobInfo, JobState, JobTemplate
from ...monitoring import MachineInfo, PlatformJob, QueueInfo
from ..base import BackendContext
from ..contract import Refusal
from . import NATIVE_ID, common
from . import gridengine_cmd as cmd
from . import monitor_cmd as monitor
from .backend import SchedulerBackend

#: Seconds a job that was never seen running may be missing from both qstat and qacct before it counts
#: as deleted before it started (Grid Engine writes no accounting record then). Longer than the default
#: accounting flush time (15 s) so that a job that just ended is not mistaken for one.
DEFAULT_VANISH_GRACE = 30.0
#: qsub's verify mode: the last -w wins over any the user's --native gave.
VERIFY = ("-w", "v")
VANISHED = "left grid engine without an accounting record (deleted before it started?)"


class GridEngineBackend(SchedulerBackend):
    """Jobs on a Grid Engine cell, submitted from this machine with qsub.

    Reads ``SGE_ROOT``/``SGE_CELL`` from the context's environment; settings ``parallel_environment``
    (default "smp", used for ``cpus`` > 1) and ``vanish_grace`` (seconds, see DEFAULT_VANISH_GRACE).
    Raises BackendUnavailable when the client commands are missing or sge_qmaster does not answer.
    """

    name: ClassVar[str] = "gridengine"
    script_family: ClassVar[str | None] = "qsub"
    label: ClassVar[str] = "grid engine"
    native_features: ClassVar[frozenset[str]] = frozenset({"array", "hold"})
    unsupported_fields: ClassVar[tuple[str, ...]] = ("job_category", "stage_in_files", "priority")
    honours: ClassVar[frozenset[str]] = frozenset({"candidate_machines", "min_phys_memory", "accounting_id"})
    limits: ClassVar[frozenset[str]] = frozenset({"memory_mb", "cpus"})
    # Containment is the cell's: ENABLE_ADDGRP_KILL plus an epilog that kills what still carries the job's
    # additional group id (root's processes too) end its `setsid` children; see docs/gridengine.md.
    refuses: ClassVar[Mapping[str, Refusal]] = {
        **SchedulerBackend.refuses,
        "array-list": Refusal("Grid Engine arrays are one range FIRST-LAST[:STEP] of indices from 1 (qsub -t)",
                              ExitStatus.USAGE),
    }
    task_var = "SGE_TASK_ID"
    unreachable: ClassVar[tuple[str, ...]] = (
        "unable to contact qmaster", "commlib error", "unable to send message", "can't connect",
        "cannot connect", "sge_root", "cell directory", "act_qmaster",
    )
    denied: ClassVar[tuple[str, ...]] = ("denied", "permission", "not allowed", "no submit host",
                                         "not a submit host")

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        # Jobs this process deleted while they were pending: Grid Engine keeps no record of them at all.
        self._deleted: set[str] = set()

    @staticmethod
    def task_native_id(native_id: str, index: int) -> str:
        return cmd.task_native_id(native_id, index)

    @staticmethod
    def job_name(template: JobTemplate) -> str:
        return cmd.job_name(SchedulerBackend.job_name(template))

    def _pe(self) -> str:
        return str(self.ctx.settings.get("parallel_environment", cmd.DEFAULT_PE))

    # --- submission ---------------------------------------------------------------------------------
    def _probe(
        self, template: JobTemplate, paths: common.Paths, array: ArraySpec | None, after: common.After | None
    ) -> None:
        """``qsub -w v`` of the job's own command line (Grid Engine's ``sbatch --test-only``: it verifies the
        job against an empty cell and submits nothing), so that what qsub would reject (an unknown queue,
        resource or parallel environment, more slots than the cell has) is refused before any record exists,
        as on Slurm, and sge_qmaster is shown to answer."""
        argv = self._submit_command(template, paths, array, after)
        proc = self._run([*argv, *VERIFY], b"#!/bin/sh\ntrue\n")
        if proc.returncode != 0:
            raise self._refused("the job", common.message(proc))

    # --- monitoring ---------------------------------------------------------------------------------
    def machines(self) -> list[MachineInfo]:
        """The execution hosts (``qhost``)."""
        return self._listing(monitor.SGE_HOSTS, monitor.parse_qhost_xml)

    def queues(self) -> list[QueueInfo]:
        """The cluster queues (``qstat -g c``), with their slots and hosts (``qselect``: the queue instances,
        host groups such as @allhosts resolved by sge_qmaster)."""
        queues = self._listing(monitor.SGE_QUEUES, monitor.parse_cluster_queues)
        # qselect fails when no queue instance exists at all: every queue then has no host.
        proc = self._run(monitor.SGE_QUEUE_INSTANCES)
        hosts = monitor.parse_queue_instances(proc.stdout) if proc.returncode == 0 else {}
        return [replace(q, machines=hosts.get(q.name, [])) for q in queues]

    def platform_jobs(self) -> list[PlatformJob]:
        """This user's jobs in ``qstat``, whoever submitted them."""
        user = self.ctx.environ.get("USER") or getpass.getuser()
        return self._listing(monitor.sge_jobs_command(user), monitor.parse_qstat_jobs)

    def _submit_command(
        self, template: JobTemplate, paths: common.Paths, array: ArraySpec | None, after: common.After | None
    ) -> list[str]:
        return cmd.build_submit_command(template, paths, job_name=self.job_name(template), array=array,
                                        after=after, parallel_environment=self._pe())

    def _job_number(self, stdout: str) -> str:
        return cmd.parse_submit_output(stdout)

    def _own_files(self, spec: common.JobSpec, paths: common.Paths) -> tuple[common.JobSpec, Mapping[str, str]]:
        """Grid Engine's shepherd creates the job's files with the execution daemon's umask (022), whatever
        the submitter's: the job script makes them 0600 before the command runs (``private_streams``)."""
        return replace(spec, private=private_streams(paths)), self.ctx.environ

    # --- observation --------------------------------------------------------------------------------
    def _ask(self, active: list[JobInfo]) -> list[JobInfo]:
        """One qstat call for all jobs; qacct for each job that left qstat. A job in error state (it can
        never start) is deleted and reported failed with Grid Engine's reason."""
        proc = self._run(cmd.build_status_command())
        if proc.returncode != 0:
            raise self._refused("qstat", common.message(proc))
        try:
            records = cmd.parse_qstat_xml(proc.stdout)
        except ValueError as e:
            raise BackendUnavailable(f"qstat printed no XML: {e}") from e
        changed: list[JobInfo] = []
        errors: list[JobInfo] = []
        missing: list[JobInfo] = []
        for job in active:
            rec = records.get(str(job.native_id))
            if rec is None:
                missing.append(job)
            elif cmd.is_error(rec):
                errors.append(job)
            else:
                new = job.evolve(**cmd.job_changes(rec))
                if new != job:
                    changed.append(new)
        changed.extend(self._fail_errors(errors))
        changed.extend(self._from_accounting(missing))
        return changed

    def _fail_errors(self, jobs: list[JobInfo]) -> list[JobInfo]:
        """Jobs in error state ("Eqw"): they would wait forever, so delete them and report why."""
        if not jobs:
            return []
        ids = [str(j.native_id) for j in jobs]
        proc = self._run(["qstat", "-j", ",".join(dict.fromkeys(cmd.base_id(n) for n in ids))])
        reasons = cmd.parse_error_reasons(proc.stdout)
        self._run(cmd.build_delete_command(ids))
        now = time.time()
        return [
            j.evolve(state=JobState.FAILED, finish_time=now, exit_status=None,
                     annotation=f"could not start: {reasons.get(str(j.native_id), 'error state')}")
            for j in jobs
        ]

    def _from_accounting(self, missing: list[JobInfo]) -> list[JobInfo]:
        out: list[JobInfo] = []
        grace = float(self.ctx.settings.get("vanish_grace", DEFAULT_VANISH_GRACE))
        now = time.time()
        for base in dict.fromkeys(cmd.base_id(str(j.native_id)) for j in missing):
            proc = self._run(cmd.build_accounting_command(base))
            records = cmd.parse_qacct(proc.stdout) if proc.returncode == 0 else {}
            for job in (j for j in missing if cmd.base_id(str(j.native_id)) == base):
                rec = records.get(str(job.native_id))
                if rec is not None:
                    out.append(job.evolve(**cmd.job_changes(rec)))
                elif job.native_id in self._deleted:
                    out.append(job.evolve(state=JobState.FAILED, finish_time=now,
                                          annotation="deleted before it started"))
                elif job.dispatch_time is None:
                    # Deleted while pending by someone else, or ended with its accounting not yet
                    # flushed: wait out the flush interval before calling it deleted.
                    since = job.backend_data.get("missing_since")
                    if since is None:
                        out.append(job.evolve(backend_data={**job.backend_data, "missing_since": now}))
                    elif now - float(since) > grace:
                        out.append(job.evolve(state=JobState.FAILED, finish_time=now, annotation=VANISHED))
        return out

    # --- control ------------------------------------------------------------------------------------
    def _signal(self, job: JobInfo, signal: int) -> None:
        raise UnsupportedOperation(f"grid engine cannot send signal {signal}; it can only delete jobs")

    def _cancel(self, job: JobInfo, signal: int | None) -> None:
        """qdel (Grid Engine kills a running job with SIGKILL)."""
        native = self._native(job)
        proc = self._run(cmd.build_delete_command([native]))
        if proc.returncode != 0:
            raise self._job_error(job, "qdel", common.message(proc))
        if "has deleted" in proc.stdout:
            self._deleted.add(native)

    def _cancel_pending(self, job: JobInfo) -> None:
        """qdel has no "only if pending": a user hold first keeps the job from being dispatched, then qdel if
        qstat still shows it waiting; a job that started meanwhile loses the hold again and is left to its
        watcher."""
        native = self._native(job)
        self._control(job, "hold")
        proc = self._run(cmd.build_status_command())
        rec = cmd.parse_qstat_xml(proc.stdout).get(native) if proc.returncode == 0 else None
        if rec is not None and cmd.job_changes(rec)["state"] in (JobState.QUEUED_HELD, JobState.REQUEUED_HELD):
            self._cancel(job, None)
        else:
            with contextlib.suppress(Drmaa2Error):
                self._control(job, "release")

    def _control_command(self, action: str, native_id: str) -> list[str]:
        """qhold, qrls, qmod -sj (SIGSTOP to the job), qmod -usj."""
        return cmd.build_control_command(action, native_id)

    def _job_error(self, job: JobInfo, what: str, msg: str) -> Drmaa2Error:
        if "does not exist" in msg.lower():
            return InvalidState(f"job {job.id} has already ended ({what}: {msg})")
        return self._refused(what, msg)


def private_streams(paths: common.Paths) -> tuple[str, ...]:
    """The words for ``JobSpec.private`` of a job whose files Grid Engine names (``NATIVE_ID``): the paths it
    tells the job in SGE_STDOUT_PATH and SGE_STDERR_PATH (so also Grid Engine's DRMAA library's jobs)."""
    words = ((paths.output, '"$SGE_STDOUT_PATH"'), (paths.error, '"$SGE_STDERR_PATH"'))
    return tuple(word for path, word in words if path is not None and NATIVE_ID in path)

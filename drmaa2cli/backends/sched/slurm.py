"""Slurm jobs through its client commands (sbatch, squeue, sacct, scancel, scontrol).

Each job is a generated ``/bin/sh`` script on sbatch's stdin that ``exec``s the exact command (see
``common.job_script``). Arrays, dependencies and holds are Slurm's own (``--array``, ``--dependency``,
``--hold``). Slurm has no events: ``wait_any`` polls squeue with a growing interval. Command lines and
parsing live in ``slurm_cmd`` (pure, tested on saved output).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from ...errors import Drmaa2Error, InvalidState, UnsupportedOperation
from ...models import ArraySpec, JobInfo, JobState, JobTemplate
from ...monitoring import MachineInfo, PlatformJob, QueueInfo
from .. import ending
from ..base import BackendContext
from ..contract import Refusal
from . import common
from . import monitor_cmd as monitor
from . import slurm_cmd as cmd
from .backend import SchedulerBackend

#: Seconds an ended job's refresh waits for its figures from slurmdbd (which has them about a second later).
ACCOUNTING_PATIENCE = 3.0


class SlurmBackend(SchedulerBackend):
    """Jobs on a Slurm cluster, submitted from this machine with sbatch.

    Reads ``SLURM_CONF`` (and every other Slurm client variable) from the context's environment. Raises
    BackendUnavailable when the client commands are missing or slurmctld does not answer.
    """

    name: ClassVar[str] = "slurm"
    script_family: ClassVar[str | None] = "sbatch"
    label: ClassVar[str] = "slurm"
    task_var = "SLURM_ARRAY_TASK_ID"
    native_features: ClassVar[frozenset[str]] = frozenset({"array", "after", "hold"})
    unsupported_fields: ClassVar[tuple[str, ...]] = ("job_category", "stage_in_files", "priority")
    honours: ClassVar[frozenset[str]] = frozenset({"candidate_machines", "min_phys_memory", "accounting_id"})
    limits: ClassVar[frozenset[str]] = frozenset({"memory_mb", "cpus", "disk_mb"})
    # Containment is Slurm's: with proctrack/cgroup (the test cluster's, tests/infra/slurm.sh) a job's
    # background and `setsid` children end with it and with scancel; see docs/slurm.md for a cluster of one's own.
    refuses: ClassVar[Mapping[str, Refusal]] = {**SchedulerBackend.refuses}
    # Words in Slurm's complaints that mean "the controller cannot be reached" or "you may not".
    unreachable: ClassVar[tuple[str, ...]] = (
        "unable to contact", "connection refused", "socket timed out", "zero bytes were transmitted",
        "communication connection failure", "could not establish", "munge",
    )
    denied: ClassVar[tuple[str, ...]] = ("access/permission denied", "invalid user", "not authorized",
                                         "permission denied")

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        # Cleared when sacct says that accounting storage is disabled (then only squeue and the job
        # completion log are asked).
        self._accounting = True

    @staticmethod
    def task_native_id(native_id: str, index: int) -> str:
        return cmd.task_native_id(native_id, index)

    # --- monitoring ---------------------------------------------------------------------------------
    def machines(self) -> list[MachineInfo]:
        """The cluster's nodes (``scontrol show node``: sinfo shows neither OS nor architecture)."""
        return self._listing(monitor.SLURM_NODES, monitor.parse_slurm_nodes)

    def queues(self) -> list[QueueInfo]:
        """The partitions (``sinfo``)."""
        return self._listing(monitor.SLURM_PARTITIONS, monitor.parse_slurm_partitions)

    def platform_jobs(self) -> list[PlatformJob]:
        """This user's jobs in ``squeue``, whoever submitted them."""
        return self._listing(monitor.SLURM_JOBS, monitor.parse_squeue)

    # --- submission ---------------------------------------------------------------------------------
    def _probe(
        self, template: JobTemplate, paths: common.Paths, array: ArraySpec | None, after: common.After | None
    ) -> None:
        """``sbatch --test-only`` validates the template and shows that slurmctld answers."""
        argv = cmd.build_submit_command(
            template, paths, job_name=self.job_name(template), array=array, after=after, test_only=True,
            nodes=self._nodes(template),
        )
        proc = self._run(argv, b"#!/bin/sh\ntrue\n")
        if proc.returncode != 0:
            raise self._refused("the job", common.message(proc))

    def _submit_command(
        self, template: JobTemplate, paths: common.Paths, array: ArraySpec | None, after: common.After | None
    ) -> list[str]:
        return cmd.build_submit_command(template, paths, job_name=self.job_name(template), array=array,
                                        after=after, nodes=self._nodes(template))

    def _nodes(self, template: JobTemplate) -> list[str]:
        """The cluster's node names, asked only for a template with several candidate machines."""
        if len(template.candidate_machines) <= 1:
            return []
        return [m.name for m in self.machines()]

    def _job_number(self, stdout: str) -> str:
        return cmd.parse_submit_output(stdout)

    def _own_files(self, spec: common.JobSpec, paths: common.Paths) -> tuple[common.JobSpec, Mapping[str, str]]:
        """slurmstepd creates the job's files with the umask sbatch hands it (SLURM_UMASK, the submitter's
        by default): 077 here, and the job script sets the submitter's own back before the command runs."""
        return replace(spec, umask=current_umask()), {**self.ctx.environ, "SLURM_UMASK": "0077"}

    # --- observation --------------------------------------------------------------------------------
    def _ask(self, active: list[JobInfo]) -> list[JobInfo]:
        """One squeue call for all jobs; sacct (or the completion log) for jobs squeue forgot."""
        proc = self._run(cmd.build_status_command(str(j.native_id) for j in active))
        if proc.returncode != 0 and "invalid job id" not in common.message(proc).lower():
            raise self._refused("squeue", common.message(proc))
        records = cmd.parse_squeue(proc.stdout) if proc.returncode == 0 else {}
        changed: list[JobInfo] = []
        never: list[JobInfo] = []
        missing: list[JobInfo] = []
        ended: list[JobInfo] = []
        for job in active:
            rec = records.get(str(job.native_id))
            if rec is None:
                missing.append(job)
            elif rec.state == "PENDING" and rec.reason == cmd.NEVER_REASON:
                never.append(job)
            else:
                changes = cmd.job_changes(rec)
                if rec.reason == cmd.NEVER_REASON and changes["state"].final:
                    changes["annotation"] = _never_ran(job)
                if rec.job_id and job.backend_data.get("job_id") != rec.job_id:
                    changes["backend_data"] = {**job.backend_data, "job_id": rec.job_id}
                new = job.evolve(**changes)
                if new.state.final:
                    ended.append(new)
                elif new != job:
                    changed.append(new)
        if never:
            # Clusters without kill_invalid_depend leave such jobs pending forever: cancel them here.
            self._run(["scancel", *(str(j.native_id) for j in never)])
            changed.extend(j.evolve(state=JobState.FAILED, finish_time=time.time(),
                                    annotation=_never_ran(j)) for j in never)
        changed.extend(self._with_accounting(ended))
        changed.extend(self._from_accounting(missing))
        return changed

    def _sacct(self, ids: list[str], jobcomp: bool) -> dict[str, cmd.Record]:
        if not ids:
            return {}
        proc = self._run(cmd.build_sacct_command(ids, jobcomp))
        if proc.returncode != 0:
            if "disabled" in common.message(proc).lower() and not jobcomp:
                self._accounting = False
            return {}
        return cmd.parse_sacct(proc.stdout)

    def _with_accounting(self, ended: list[JobInfo]) -> list[JobInfo]:
        """Ended jobs with CPU time and max RSS from sacct where Slurm keeps accounting."""
        if not ended or not self._accounting:
            return ended
        ids = [str(j.native_id) for j in ended]
        records = self._sacct(ids, jobcomp=False)
        # slurmdbd gets a job's figures a moment after squeue shows it ended (its batch step last): ask again for
        # a little while for the jobs that ran, so that they are not recorded final without them. A step without
        # MaxRSS is final (a job shorter than the sampling interval).
        ran = {str(j.native_id) for j in ended if j.dispatch_time is not None}
        deadline = time.monotonic() + ACCOUNTING_PATIENCE
        while self._accounting and time.monotonic() < deadline and any(
                (rec := records.get(i)) is None or not rec.stepped for i in ran):
            time.sleep(0.2)
            records = {**records, **self._sacct(ids, jobcomp=False)}
        out = []
        for job in ended:
            rec = records.get(str(job.native_id))
            out.append(job if rec is None else job.evolve(cpu_time=rec.cpu_time, max_rss=rec.max_rss))
        return out

    def _from_accounting(self, missing: list[JobInfo]) -> list[JobInfo]:
        """Final states of jobs squeue no longer shows, from sacct or the job completion log."""
        if not missing:
            return []
        records: dict[str, cmd.Record] = {}
        if self._accounting:
            records = self._sacct([str(j.native_id) for j in missing], jobcomp=False)
        rest = [j for j in missing if str(j.native_id) not in records]
        if rest:
            # The completion log knows raw job ids only (an array task's own id, learnt from squeue).
            raw = {str(j.backend_data.get("job_id") or j.native_id): j for j in rest}
            found = self._sacct([r for r in raw if "_" not in r], jobcomp=True)
            records.update({str(raw[r].native_id): rec for r, rec in found.items() if r in raw})
        out = []
        for job in missing:
            rec = records.get(str(job.native_id))
            if rec is not None and cmd.STATE_MAP.get(rec.state, JobState.UNDETERMINED).final:
                out.append(job.evolve(**cmd.job_changes(rec)))
        return out

    # --- control ------------------------------------------------------------------------------------
    def _cancel(self, job: JobInfo, signal: int | None) -> None:
        """scancel (SIGTERM, then SIGKILL after the cluster's KillWait), or SIGKILL at once."""
        proc = self._run(cmd.build_cancel_command(self._native(job), signal))
        if proc.returncode != 0:
            raise self._job_error(job, "scancel", common.message(proc))

    def _cancel_pending(self, job: JobInfo) -> None:
        """scancel --state=PENDING: slurmctld cancels the job only while it is pending, in one step."""
        proc = self._run(["scancel", "--state=PENDING", self._native(job)])
        if proc.returncode != 0:
            raise self._job_error(job, "scancel", common.message(proc))

    def _signal(self, job: JobInfo, signal: int) -> None:
        """scancel --full --signal=N: to the batch script and all its processes."""
        self._cancel(job, signal)

    def _control_command(self, action: str, native_id: str) -> list[str]:
        return cmd.build_control_command(action, native_id)

    def _job_error(self, job: JobInfo, what: str, msg: str) -> Drmaa2Error:
        low = msg.lower()
        action = what.removeprefix("scontrol ")
        if action in ("suspend", "resume") and "permission denied" in low:
            return UnsupportedOperation(f"slurm lets only operators {action} jobs ({msg})")
        if "finished" in low or "completed" in low or "invalid job id" in low:
            return InvalidState(f"job {job.id} has already ended ({what}: {msg})")
        if "not pending" in low or "not running" in low or "not suspended" in low:
            return InvalidState(f"job {job.id}: {msg}")
        return self._refused(what, msg)


def current_umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _never_ran(job: JobInfo) -> str:
    """Slurm cancels a job whose dependency failed (kill_invalid_depend) without saying which one."""
    return ending.dependency_failed(list(job.backend_data.get("after") or ["?"]))

"""A script's own scheduler on every other backend: the variables its family's scheduler sets (SLURM_JOB_ID,
JOB_ID, PBS_JOBID, ...) and the file names it writes to when the script names none (slurm-%j.out, NAME.oID).

The variables are set by a fixed shell program that runs before the script (``wrap``), from drmaa2's own
DRMAA2_JOB_ID and DRMAA2_TASK_ID, which every backend gives every job -- also under ``--export NONE``, whose
empty environment keeps them: so the ids are drmaa2's own (the number `drmaa2 status` shows; a task's
SLURM_JOB_ID is ``ID.TASK``, as its %j).

Slurm's variables would make ``srun`` (and an MPI launcher that calls it) inside the job join a real Slurm job
of that number on a machine that has Slurm -- job 1 of Slurm and job 1 of drmaa2 are both common. The job's
SLURM_CONF therefore names an empty file (/dev/null): a Slurm command inside it stops at once ("ClusterName
needs to be specified"), never reaching the cluster; SLURM_JOBID (what MPI libraries look for to use srun) and
the step variables are not set, so mpirun starts its ranks on this machine.
"""

from __future__ import annotations

import os
import shlex

from .. import parsing
from ..backends.sched import NATIVE_ID
from .directives import Options
from .requests import Declared

#: Family -> the names of the variables its scheduler sets that a job of drmaa2 is told of (kept under
#: ``--export NONE`` on the owning scheduler).
NAMES: dict[str, tuple[str, ...]] = {
    "sbatch": ("SLURM_JOB_ID", "SLURM_JOB_NAME", "SLURM_SUBMIT_DIR", "SLURM_CPUS_PER_TASK", "SLURM_NTASKS",
               "SLURM_JOB_NUM_NODES", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
               "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP"),
    "qsub": ("JOB_ID", "JOB_NAME", "SGE_TASK_ID", "SGE_TASK_FIRST", "SGE_TASK_LAST", "SGE_TASK_STEPSIZE", "NSLOTS",
             "SGE_O_WORKDIR"),
    "pbs": ("PBS_JOBID", "PBS_JOBNAME", "PBS_O_WORKDIR", "PBS_ARRAY_INDEX", "PBS_ARRAY_ID", "NCPUS"),
}


def variables(family: str, options: Options, submit_dir: str) -> tuple[dict[str, str], dict[str, str]]:
    """The family's variables: (fixed values, values taken from drmaa2's variables at run time)."""
    name, cpus, tasks = options.get("name") or "", str(options.get("_cpus", 1)), str(options.get("_tasks", 1))
    spec = parsing.array(options["array"]) if options.get("array") else None
    fixed: dict[str, str] = {}
    run: dict[str, str] = {}
    if family == "sbatch":
        fixed = {"SLURM_JOB_NAME": name, "SLURM_SUBMIT_DIR": submit_dir, "SLURM_CPUS_PER_TASK": cpus,
                 "SLURM_NTASKS": tasks, "SLURM_JOB_NUM_NODES": "1", "SLURM_CONF": "/dev/null"}
        if options.get("_cpus_on_node"):
            fixed["SLURM_CPUS_ON_NODE"] = str(options["_cpus_on_node"])
        run = {"SLURM_JOB_ID": "$DRMAA2_JOB_ID"}
        if spec is not None:
            indices = list(spec.indices)
            step = spec.step if spec.only is None else 1
            fixed.update(SLURM_ARRAY_TASK_COUNT=str(len(indices)), SLURM_ARRAY_TASK_MIN=str(indices[0]),
                         SLURM_ARRAY_TASK_MAX=str(indices[-1]), SLURM_ARRAY_TASK_STEP=str(step))
            run = {"SLURM_JOB_ID": "$DRMAA2_JOB_ID.$DRMAA2_TASK_ID", "SLURM_ARRAY_JOB_ID": "$DRMAA2_JOB_ID",
                   "SLURM_ARRAY_TASK_ID": "$DRMAA2_TASK_ID"}
    elif family == "qsub":
        slots = str(int(cpus) * int(tasks))
        fixed = {"JOB_NAME": name, "NSLOTS": slots, "SGE_O_WORKDIR": submit_dir, "SGE_TASK_ID": "undefined",
                 "SGE_TASK_FIRST": "undefined", "SGE_TASK_LAST": "undefined", "SGE_TASK_STEPSIZE": "undefined"}
        run = {"JOB_ID": "$DRMAA2_JOB_ID"}
        if spec is not None:
            fixed.update(SGE_TASK_FIRST=str(spec.first), SGE_TASK_LAST=str(spec.last),
                         SGE_TASK_STEPSIZE=str(spec.step))
            del fixed["SGE_TASK_ID"]
            run["SGE_TASK_ID"] = "$DRMAA2_TASK_ID"
    elif family == "pbs":
        fixed = {"PBS_JOBNAME": name, "PBS_O_WORKDIR": submit_dir, "NCPUS": cpus}
        run = {"PBS_JOBID": "$DRMAA2_JOB_ID"}
        if spec is not None:
            run = {"PBS_JOBID": "$DRMAA2_JOB_ID[$DRMAA2_TASK_ID]", "PBS_ARRAY_ID": "$DRMAA2_JOB_ID[]",
                   "PBS_ARRAY_INDEX": "$DRMAA2_TASK_ID"}
    return fixed, run


def wrap(argv: list[str], family: str, options: Options, submit_dir: str) -> list[str]:
    """``argv`` run after a shell has exported the family's variables (see the module docstring)."""
    fixed, run = variables(family, options, submit_dir)
    words = [f"{k}={shlex.quote(v)}" for k, v in fixed.items()] + [f'{k}="{v}"' for k, v in run.items()]
    program = f'export {" ".join(words)}; exec "$@"'
    return ["/bin/sh", "-c", program, "sh", *argv]


def default_paths(family: str, options: Options, d: Declared) -> None:
    """The family's own working directory and file names where the script and command line name none: an sbatch
    job starts in the submit directory; sbatch's slurm-%j.out
    (slurm-%A_%a.out for an array) in the working directory; qsub's NAME.oID and NAME.eID (.oID.TASK) in
    the home directory, or the working directory with -cwd; PBS's NAME.oID and NAME.eID in the submit
    directory. Where a platform keeps one log (``one_log``) there is no separate error file. On the script's own
    scheduler the id in these names is the scheduler's (``NATIVE_ID``), as it names them itself."""
    if family == "sbatch" and not options.get("cwd") and "working_directory" not in d.refused:
        options["cwd"] = os.getcwd()  # sbatch's job starts where it was submitted (a container too)
    if "output_path" in d.refused:
        return  # the platform keeps the output itself (Cloud Foundry's log)
    array = bool(options.get("array"))
    # On its own scheduler the id in the name is the scheduler's (an array task's own: 12_3, 12.3).
    own = family == d.family
    if family == "sbatch":
        if not options.get("output_path"):
            where = options.get("cwd") or os.getcwd()
            default = f"slurm-{NATIVE_ID}.out" if own else "slurm-%A_%a.out" if array else "slurm-%j.out"
            options["output_path"] = os.path.join(where, default)
        return
    name = (options.get("name") or "").replace("%", "%%").replace("/", "_")
    suffix = NATIVE_ID if own else "%A.%a" if array else "%A"
    home = os.path.expanduser("~")
    where = (options.get("cwd") or home) if family == "qsub" else os.getcwd()
    if not options.get("output_path"):
        options["output_path"] = os.path.join(where, f"{name}.o{suffix}")
    if d.one_log:
        options["join"] = True
    elif not options.get("error_path") and not options.get("join"):
        options["error_path"] = os.path.join(where, f"{name}.e{suffix}")

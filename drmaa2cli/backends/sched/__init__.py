"""The batch-scheduler backends: what Slurm and Grid Engine share (``backend``: the base class, ``common``:
the job script, paths, polling), and per scheduler its contract class (``slurm``, ``gridengine``) beside its
pure command building and output parsing (``slurm_cmd``, ``gridengine_cmd``, tested on saved output).

Only plain data here: the registry loads one scheduler's module only when that backend is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..base import Shape

#: What a job's ``backend_data`` holds (``Backend.check_data``), on both schedulers: an array task's array job,
#: Slurm's own job id of a task, when Grid Engine stopped listing the job, and the drmaa2 ids of its
#: dependencies (for the words of a dependency's failure).
DATA_SHAPE: Shape = {
    "array_job": (str,), "job_id": (str,), "missing_since": (int, float), "after": (list,),
}
#: The settings of each backend of this package in the config file's ``[backends.NAME]`` table, with their
#: kinds ("boolean", "string", "number": a non-negative one); the config's check reads them from here.
SETTINGS: dict[str, dict[str, str]] = {
    "slurm": {}, "gridengine": {"parallel_environment": "string", "vanish_grace": "number"},
}
#: Stands in a job's output or error path for the scheduler's own id of the job, which only the submission tells:
#: a script of the scheduler's own family that names no file gets the scheduler's default name (sbatch's
#: slurm-%j.out, qsub's NAME.oID), as the scheduler writes it. The backend hands the scheduler its own pattern
#: (%j, $JOB_ID) and fills the record's paths once the scheduler has answered.
NATIVE_ID = "$DRMAA2_NATIVE_ID$"

"""The batch-scheduler backends: what Slurm and Grid Engine share (``backend``: the base class, ``common``:
the job script, paths, polling), and per scheduler its contract class (``slurm``, ``gridengine``) beside its
pure command building and output parsing (``slurm_cmd``, ``gridengine_cmd``, tested on saved output).

Empty on purpose: the registry loads one scheduler's module only when that backend is used.
"""

"""Job scripts: a file (or standard input) run with its ``#!`` interpreter, its options written inside it.

The leading comment block of a script (the lines before its first command) may hold directives:

* ``#DRMAA2 <options>`` -- any ``submit`` option in the command line's syntax (parsed by the caller's parser);
* ``#SBATCH <options>`` -- sbatch's, and ``#$ <options>`` -- qsub's: the common ones (``SBATCH_OPTIONS``,
  ``SGE_OPTIONS``) are understood on every backend and become the same submit options; the others are passed
  to the scheduler that owns them (slurm, gridengine) as native options, and refused elsewhere with the
  script's name and the directive's line.

Options on the command line win over directives, and a later directive over an earlier one (sbatch's rules).
Placeholders in output and error paths are drmaa2's (``files.fill_placeholders``): %j %A %a %x and qsub's
$JOB_ID $TASK_ID $JOB_NAME are turned into them, so a script writes the same files on every backend.
"""

from .directives import SBATCH_OPTIONS, SGE_OPTIONS, Options, export, qsub, sbatch
from .launch import argv_clean_env, argv_from_file, argv_inline, check_backend, job_command, keep_copy
from .script import (
    PREFIXES,
    STDIN_NAME,
    Directive,
    JobScript,
    apply,
    directives,
    find,
    finish_paths,
    interpreter,
    is_script,
    merge,
    parse,
    read_script,
    split,
    stdin_has_script,
)

__all__ = [
    "PREFIXES", "SBATCH_OPTIONS", "SGE_OPTIONS", "STDIN_NAME", "Directive", "JobScript", "Options", "apply",
    "argv_clean_env", "argv_from_file", "argv_inline", "check_backend", "directives", "export", "find",
    "finish_paths", "interpreter", "is_script", "job_command", "keep_copy", "merge", "parse", "qsub",
    "read_script", "sbatch", "split", "stdin_has_script",
]

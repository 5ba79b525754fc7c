"""Job scripts: a file (or standard input) run with its ``#!`` interpreter, its options written inside it.

The leading comment block of a script (the lines before its first command) may hold directives:

* ``#DRMAA2 <options>`` -- any ``submit`` option in the command line's syntax (parsed by the caller's parser);
* ``#SBATCH <options>`` (sbatch's), ``#$ <options>`` (qsub's) and ``#PBS <options>`` (PBS's): every option of
  the three families that drmaa2 knows is declared once (``families.py``) with its treatment -- honoured,
  checked against one machine, bookkeeping (one warning), or refused -- decided per backend from the backend's
  declarations (``requests.py``); on the scheduler that owns the family (slurm for #SBATCH, gridengine and
  libdrmaa for #$) the options drmaa2 does not apply itself reach it unchanged. docs/jobscripts.md has the table
  (``table.py`` writes it).

Options on the command line win over directives, and a later directive over an earlier one (sbatch's rules).
Placeholders in output and error paths are drmaa2's (``files.fill_placeholders``): %j %A %a %x and qsub's
$JOB_ID $TASK_ID $JOB_NAME are turned into them, so a script writes the same files on every backend. Off its
own scheduler a script's job sees its family's variables and gets its family's default file names
(``environment.py``).
"""

from .directives import Options
from .families import export, pbs, qsub, sbatch
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
    "PREFIXES", "STDIN_NAME", "Directive", "JobScript", "Options", "apply", "argv_clean_env", "argv_from_file",
    "argv_inline", "check_backend", "directives", "export", "find", "finish_paths", "interpreter", "is_script",
    "job_command", "keep_copy", "merge", "parse", "pbs", "qsub", "read_script", "sbatch", "split",
    "stdin_has_script",
]

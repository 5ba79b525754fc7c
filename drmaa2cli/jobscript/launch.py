"""How a job runs its script on a backend: from the private copy where the job sees this machine's files, in its
command line where it does not (containers, Cloud Foundry tasks); which directives the backend cannot honour;
an empty environment for ``--export NONE``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import InvalidArgument, StoreError
from ..files import ensure_private_dir, write_atomically
from . import environment, requests
from .directives import Options
from .script import JobScript

#: Scripts above this size cannot travel in a command line to a container or task (Linux's limit on one
#: argument is 128 KiB).
INLINE_LIMIT = 100 * 1024
#: Shells that run a script given as ``-c TEXT NAME ARGS...`` (no temporary file needed).
SHELLS = frozenset({"sh", "bash", "dash", "ksh", "zsh", "ash", "mksh"})


def job_command(script: JobScript, args: list[str], backend: str, home: Path,
                options: Options | None = None) -> tuple[list[str], list[str], list[str]]:
    """The job's command for ``backend``, the native scheduler options its directives pass on, and notes for
    the person (the bookkeeping options ignored). ``options`` (the script's under the command line's, the job's
    name known) are completed: requests turned into limits, the family's default file names. Raises
    UnsupportedAttribute (see ``requests.check``), StoreError when the copy cannot be written."""
    d = requests.declared(backend, home)
    options = {} if options is None else options
    native, notes = requests.check(script, options, d,
                                   lambda: bool(options.get("strict")) or requests.strict(home, os.environ))
    family = script.family
    if not d.sees_home:
        argv = argv_inline(script, args)
    else:
        try:
            copy = keep_copy(script, home)
        except OSError as e:
            raise StoreError(f"cannot keep a copy of job script {script.name}: {e.strerror}") from None
        argv = argv_from_file(script, copy, args)
    if family is not None:
        environment.default_paths(family, options, d)
    if family is not None and family != d.family:  # the owning scheduler sets its own variables
        argv = environment.wrap(argv, family, options, os.getcwd())
    if family is not None and options.get("export_all") is False:
        argv = clean_env(argv, options, environment.NAMES[family] if family == d.family else ())
    for key in [k for k in options if k.startswith("_")]:
        del options[key]
    return argv, native, notes


def check_backend(script: JobScript, backend: str, options: Options | None = None) -> list[str]:
    """The native options for ``backend`` from the directives only its scheduler understands. Raises
    UnsupportedAttribute, naming the script and line, for a directive ``backend`` cannot honour."""
    native, _ = requests.check(script, dict(script.options if options is None else options),
                               requests.declared(backend), lambda: False)
    return native


def keep_copy(script: JobScript, home: Path) -> str:
    """The script's copy in the drmaa2 home (``scripts/``, 0700; the file 0600), named by its content so
    that concurrent submits of the same script share one file. Raises OSError."""
    import hashlib

    directory = home / "scripts"
    ensure_private_dir(directory)
    path = directory / (hashlib.sha256(script.text).hexdigest()[:32] + ".sh")
    if not path.exists():
        write_atomically(path, script.text)
    return str(path)


def argv_from_file(script: JobScript, copy: str, args: list[str]) -> list[str]:
    """The job's command where it sees the submit host's files: the interpreter on the copy."""
    return [*script.interpreter, copy, *args]


def argv_inline(script: JobScript, args: list[str]) -> list[str]:
    """The job's command where it does not see them (a container, a Cloud Foundry task): the script travels
    in the command line. A shell runs it as ``-c TEXT``; another interpreter gets it in a temporary file that
    a /bin/sh of the image writes. Raises InvalidArgument for a script too long for a command line."""
    if len(script.text) > INLINE_LIMIT:
        raise InvalidArgument(f"job script {script.name} is larger than {INLINE_LIMIT // 1024} KiB, the most "
                              "that can be sent to a container or task")
    import shlex

    text = os.fsdecode(script.text)
    program = script.interpreter[1] if os.path.basename(script.interpreter[0]) == "env" and \
        len(script.interpreter) == 2 else script.interpreter[0]
    if os.path.basename(program) in SHELLS:
        return [*script.interpreter, "-c", text, script.name, *args]
    # The file is opened on descriptor 3 and removed before the interpreter starts, which reads it through
    # /dev/fd/3: nothing is left in /tmp where the job's machine outlives the job (the remote backend's server,
    # a task host), and the interpreter still gets a regular, seekable file.
    wrapper = ('f=$(mktemp "${TMPDIR:-/tmp}/drmaa2-script.XXXXXX") && printf "%s" "$0" > "$f" && exec 3< "$f" '
               '|| exit 126; rm -f "$f"; '
               f'exec {shlex.join(script.interpreter)} /dev/fd/3 "$@"')
    return ["/bin/sh", "-c", wrapper, text, *args]


#: Runs the command after it in an empty environment but for drmaa2's own variables and KEY=VALUE words.
_CLEAN_ENV = ('exec env -i ${DRMAA2_TASK_ID+"DRMAA2_TASK_ID=$DRMAA2_TASK_ID"} "DRMAA2_JOB_ID=$DRMAA2_JOB_ID" '
              '"DRMAA2_SESSION=$DRMAA2_SESSION" {keep}"$@"')


def argv_clean_env(argv: list[str], env: Mapping[str, str], keep: tuple[str, ...] = ()) -> list[str]:
    """``argv`` run in an empty environment holding only ``env`` and DRMAA2_JOB_ID, DRMAA2_TASK_ID,
    DRMAA2_SESSION (``--export=NONE``) and the variables named in ``keep`` that are set (a scheduler's own):
    ``env -i`` through a fixed /bin/sh program, the words passed as its arguments, so they still reach the job
    byte for byte. Raises InvalidArgument for a command whose name holds "=", which env would take for a
    variable."""
    if "=" in argv[0]:
        raise InvalidArgument(f"--export=NONE: the command {argv[0]!r} holds '=', which env reads as a variable")
    kept = "".join(f'${{{name}+"{name}=${name}"}} ' for name in keep)
    words = (f"{k}={v}" for k, v in env.items())
    return ["/bin/sh", "-c", _CLEAN_ENV.replace("{keep}", kept), "sh", *words, *argv]


def clean_env(argv: list[str], options: Options, keep: tuple[str, ...]) -> list[str]:
    """``--export NONE`` for a script, done here rather than by the template so that the variables its own
    scheduler set (``keep``) survive it, as they do under sbatch's --export=NONE."""
    from ..parsing import environment, variable_list

    env = environment(options.get("env") or [])
    listed = [item for text in options.get("variables") or [] for item in variable_list(text)]
    env.update(environment(listed, option="-v"))
    options.update(export_all=None, env=None, variables=None)
    return argv_clean_env(argv, env, keep)

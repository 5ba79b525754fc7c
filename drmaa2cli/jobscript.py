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

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import parsing
from .errors import InvalidArgument, StoreError, UnsupportedAttribute
from .files import ensure_private_dir, write_atomically

#: Directive prefix -> the backend that reads it itself (None: drmaa2's own).
PREFIXES: dict[str, str | None] = {"#DRMAA2": None, "#SBATCH": "slurm", "#$": "gridengine"}
#: The name of a job whose script came on standard input (qsub's).
STDIN_NAME = "STDIN"
#: Scripts above this size cannot travel in a command line to a container or task (Linux's limit on one
#: argument is 128 KiB).
INLINE_LIMIT = 100 * 1024
#: Shells that run a script given as ``-c TEXT NAME ARGS...`` (no temporary file needed).
SHELLS = frozenset({"sh", "bash", "dash", "ksh", "zsh", "ash", "mksh"})

#: Options a job script may carry, by the submit option they set (keys of ``commands.submit``'s options).
Options = dict[str, Any]


@dataclass(frozen=True)
class Directive:
    """One directive line: ``prefix`` ("#SBATCH"...), its options split as a shell would, where it stands."""

    line: int
    prefix: str
    words: list[str]

    def describe(self, script: str) -> str:
        import shlex

        return f"{script}, line {self.line}: {self.prefix} {shlex.join(self.words)}"


@dataclass
class JobScript:
    """A script read at submit time: its bytes, its interpreter and the directives of its leading comments."""

    name: str
    text: bytes
    interpreter: list[str]
    directives: list[Directive]
    #: Submit option -> value, from the directives (see ``apply``), and which directive set each.
    options: Options = field(default_factory=dict)
    origin: dict[str, Directive] = field(default_factory=dict)
    #: Directives drmaa2 does not understand: the owning scheduler gets them as native options.
    foreign: list[Directive] = field(default_factory=list)


# --- finding and reading ---------------------------------------------------------------------------------
def is_script(word: str, cwd: str | None = None) -> bool:
    """Whether the command word ``word`` names a job script: a path to a file that is not a binary program,
    or a file in the working directory whose name is not a command on PATH (``job.sh``)."""
    path = os.path.join(cwd or os.getcwd(), word)
    if not os.path.isfile(path):
        return False
    if "/" not in word and which(word) is not None:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return "/" not in word  # unreadable: read_script says why
    return head.startswith(b"#!") or b"\0" not in head  # an ELF binary (or any with NULs) runs as it is


def which(word: str) -> str | None:
    import shutil  # only when a file of that name is here: not worth loading on every submit

    return shutil.which(word)


def stdin_has_script(fd: int) -> bool:
    """Whether standard input may hold a job script: a pipe or a file (`echo make | drmaa2 submit`, `drmaa2
    submit < job.sh`), not a terminal or /dev/null."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def read_script(word: str) -> JobScript:
    """The script ``word`` names, read once (later edits do not change the job). Raises InvalidArgument."""
    try:
        with open(word, "rb") as f:
            text = f.read()
    except OSError as e:
        raise InvalidArgument(f"cannot read job script {word}: {e.strerror}") from None
    return parse(os.path.basename(word), text)


def parse(name: str, text: bytes) -> JobScript:
    """A script's interpreter and directives. Raises InvalidArgument for an empty script or a directive that
    a shell could not split (an unclosed quote)."""
    if not text.strip():
        raise InvalidArgument(f"job script {name} is empty")
    if b"\0" in text:
        raise InvalidArgument(f"job script {name} is not text (it holds NUL bytes)")
    lines = os.fsdecode(text).splitlines()
    return JobScript(name, text, interpreter(lines[0]), directives(name, lines))


def interpreter(first_line: str) -> list[str]:
    """The ``#!`` line's program and its one optional argument (as Linux reads it); ``/bin/sh`` without one."""
    if not first_line.startswith("#!"):
        return ["/bin/sh"]
    program, _, argument = first_line[2:].strip().partition(" ")
    if not program:
        return ["/bin/sh"]
    return [program, argument.strip()] if argument.strip() else [program]


def directives(name: str, lines: list[str]) -> list[Directive]:
    """The directives of the leading comment block: it ends at the first line that is neither blank nor a
    comment (as sbatch reads it)."""
    found = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        for prefix in PREFIXES:
            if stripped.startswith(prefix) and (len(stripped) == len(prefix) or stripped[len(prefix)] in " \t"):
                try:
                    words = split(stripped[len(prefix):])
                except ValueError as e:
                    raise InvalidArgument(f"{name}, line {number}: {prefix}: {e}") from None
                if words:
                    found.append(Directive(number, prefix, words))
    return found


def split(text: str) -> list[str]:
    """A directive's words: split at blanks, quotes kept together, a later ``#`` starts a comment; a backslash
    is an ordinary character (qsub's ``-v A=x\\,y`` keeps its escaped comma)."""
    import shlex  # scripts only: not loaded by a plain submit

    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    return list(lexer)


# --- the directives as submit options --------------------------------------------------------------------
def apply(script: JobScript, parse_drmaa2: Callable[[list[str]], Options]) -> JobScript:
    """Fill ``script.options`` from its directives. ``parse_drmaa2`` turns a #DRMAA2 line's words into the
    options it sets (the caller's command-line parser); raises InvalidArgument naming the line."""
    for d in script.directives:
        try:
            if d.prefix == "#DRMAA2":
                found: Options | None = parse_drmaa2(d.words)
            elif d.prefix == "#SBATCH":
                found = sbatch(d.words)
            else:
                found = qsub(d.words)
        except InvalidArgument as e:
            raise InvalidArgument(f"{d.describe(script.name)}: {e}") from None
        if found is None:
            script.foreign.append(d)
            continue
        if "shell" in found:
            script.interpreter = [found.pop("shell")]
        for key, value in found.items():
            if key in ("env", "variables", "after", "after_any") and key in script.options:
                value = [*script.options[key], *value]
            if key == "export_all" and key in script.options:
                continue
            script.options[key] = value
            script.origin[key] = d
    sbatch_lines = [d for d in script.directives if d.prefix == "#SBATCH"]
    if sbatch_lines and "error_path" not in script.options and "join" not in script.options:
        # sbatch's default: standard error goes to the output file unless -e names another
        script.options["join"] = True
        script.origin["join"] = sbatch_lines[0]
    throttle = script.options.pop("throttle", None)
    if throttle is not None:
        if "array" not in script.options or "%" in script.options["array"]:
            raise InvalidArgument(f"{script.origin['throttle'].describe(script.name)}: -tc needs an array (-t)")
        script.options["array"] += f"%{throttle}"
    return script


def _words(words: list[str], short: Mapping[str, str], long: Mapping[str, str],
           flags: frozenset[str]) -> list[tuple[str, str | None]] | None:
    """(canonical option, value) pairs of one directive; None if it holds an option not in the tables."""
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--"):
            key, eq, value = word.partition("=")
            canonical = long.get(key)
            if canonical is None:
                return None
            if canonical in flags:
                pairs.append((canonical, None))
            elif eq:
                pairs.append((canonical, value))
            else:
                i += 1
                if i >= len(words):
                    raise InvalidArgument(f"{key} needs a value")
                pairs.append((canonical, words[i]))
        else:
            canonical = short.get(word)
            if canonical is None:
                glued = next((s for s in short if len(s) == 2 and word.startswith(s) and len(word) > 2), None)
                if glued is None or short[glued] in flags:
                    return None
                pairs.append((short[glued], word[2:]))  # sbatch -Jname
            elif canonical in flags:
                pairs.append((canonical, None))
            else:
                i += 1
                if i >= len(words):
                    raise InvalidArgument(f"{word} needs a value")
                pairs.append((canonical, words[i]))
        i += 1
    return pairs


_SBATCH_SHORT = {"-J": "name", "-o": "output", "-e": "error", "-D": "chdir", "-t": "time", "-a": "array",
                 "-d": "dependency", "-H": "hold", "-c": "cpus", "-p": "partition", "-i": "input"}
_SBATCH_LONG = {"--job-name": "name", "--output": "output", "--error": "error", "--chdir": "chdir",
                "--time": "time", "--array": "array", "--dependency": "dependency", "--hold": "hold",
                "--export": "export", "--mem": "mem", "--cpus-per-task": "cpus", "--partition": "partition",
                "--input": "input"}
#: What --help and the README list as understood #SBATCH options.
SBATCH_OPTIONS = "-J -o -e -D -t -a -d -H -c -p -i --mem --export (and their long forms)"
#: sbatch's path patterns -> drmaa2's placeholders; %x (the job name) is filled in by ``finish``.
_SLURM_PATTERN = re.compile(r"%(%|j|A|a|x|[0-9]*[a-zA-Z])")


def sbatch(words: list[str]) -> Options | None:
    """The submit options of one #SBATCH directive, None if it holds an option drmaa2 does not know."""
    pairs = _words(words, _SBATCH_SHORT, _SBATCH_LONG, frozenset({"hold"}))
    if pairs is None:
        return None
    options: Options = {}
    for key, value in pairs:
        v = value or ""
        if key == "name":
            options["name"] = v
        elif key in ("output", "error", "input"):
            options[f"{key}_path"] = slurm_pattern(v)
        elif key == "chdir":
            options["cwd"] = v
        elif key == "time":
            options["timeout"] = seconds(parsing.duration(v, "--time", bare=60.0))
        elif key == "array":
            options["array"] = v
        elif key == "dependency":
            options.update(slurm_dependency(v))
        elif key == "hold":
            options["hold"] = True
        elif key == "export":
            options.update(export(v))
        elif key == "mem":
            options["memory"] = v if not v.isdigit() else f"{v}m"  # sbatch: a bare number is MB
        elif key == "cpus":
            options["cpus"] = v
        elif key == "partition":
            options["queue"] = v
    return options


def slurm_pattern(path: str) -> str:
    """An sbatch file pattern in drmaa2's placeholders; refuses the ones drmaa2 cannot fill (%N %u ...)."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) in ("%", "j", "A", "a"):
            return m.group(0)
        if m.group(1) == "x":
            return "\0NAME\0"
        raise InvalidArgument(f"the file name pattern %{m.group(1)} is not supported (use %j %A %a %x)")

    return _SLURM_PATTERN.sub(one, path)


def slurm_dependency(text: str) -> Options:
    """afterok:ID[:ID] and afterany:ID[:ID] (drmaa2 job ids)."""
    kind, _, ids = text.partition(":")
    if kind not in ("afterok", "afterany") or not ids or "," in text or "?" in text:
        raise InvalidArgument(f"dependency {text!r}: only afterok:ID[:ID...] or afterany:ID[:ID...]")
    return {"after" if kind == "afterok" else "after_any": ids.split(":")}


def export(text: str) -> Options:
    """sbatch's --export: ALL, NONE, or [ALL,]A=1,B (a comma in a value written ``\\,``)."""
    items = parsing.variable_list(text)
    if items == ["NONE"]:
        return {"export_all": False}
    options: Options = {}
    if "ALL" in items:
        items.remove("ALL")
        options["export_all"] = True
    if "NONE" in items:
        raise InvalidArgument("--export=NONE cannot be combined with variables")
    if items:
        options["env"] = items
    return options


_SGE_SHORT = {"-N": "name", "-o": "output", "-e": "error", "-j": "join", "-cwd": "cwd", "-wd": "wd",
              "-l": "resources", "-t": "array", "-tc": "throttle", "-hold_jid": "hold_jid", "-h": "hold",
              "-v": "vars", "-V": "all", "-pe": "pe", "-q": "queue", "-S": "shell", "-i": "input"}
SGE_OPTIONS = "-N -o -e -j -cwd -wd -l h_rt/h_vmem/mem_free -t -tc -hold_jid -h -v -V -pe smp -q -S -i"
_SGE_VARS = {"$JOB_ID": "%A", "$TASK_ID": "%a", "$JOB_NAME": "\0NAME\0"}
_SGE_VAR = re.compile(r"\$(JOB_ID|TASK_ID|JOB_NAME|[A-Za-z_][A-Za-z0-9_]*)")


def qsub(words: list[str]) -> Options | None:
    """The submit options of one #$ directive, None if it holds an option (or a resource) drmaa2 does not
    know. ``-pe`` takes two values, so the words are read here rather than by ``_words``."""
    if words[:1] == ["-pe"]:
        if len(words) != 3 or words[1] != "smp" or not words[2].isdigit():
            return None
        return {"cpus": words[2]}
    pairs = _words(words, _SGE_SHORT, {}, frozenset({"cwd", "hold", "all"}))
    if pairs is None:
        return None
    options: Options = {}
    for key, value in pairs:
        v = value or ""
        if key == "name":
            options["name"] = v
        elif key in ("output", "error", "input"):
            options[f"{key}_path"] = sge_pattern(v)
        elif key == "join":
            if v.lower() not in ("y", "yes", "n", "no", "true", "false"):
                raise InvalidArgument(f"-j {v}: expected y or n")
            options["join"] = v.lower() in ("y", "yes", "true")
        elif key == "cwd":
            options["cwd"] = os.getcwd()
        elif key == "wd":
            options["cwd"] = v
        elif key == "resources":
            found = sge_resources(v)
            if found is None:
                return None
            options.update(found)
        elif key == "array":
            options["array"] = v
        elif key == "throttle":
            options["throttle"] = v
        elif key == "hold_jid":
            options["after_any"] = [i for i in v.split(",") if i]
        elif key == "hold":
            options["hold"] = True
        elif key == "vars":
            options["variables"] = [v]
        elif key == "all":
            options["export_all"] = True
        elif key == "queue":
            options["queue"] = v
        elif key == "shell":
            options["shell"] = v
    return options


def sge_pattern(path: str) -> str:
    """A qsub path in drmaa2's placeholders ($JOB_ID, $TASK_ID, $JOB_NAME); other $ variables are refused
    (qsub expands $HOME and friends on the execution host, which drmaa2 cannot do everywhere)."""
    if ":" in path:
        host, _, rest = path.partition(":")
        if not host or "/" not in host:
            path = rest  # [host]:path
    path = path.replace("%", "%%")

    def one(m: re.Match[str]) -> str:
        if m.group(0) in _SGE_VARS:
            return _SGE_VARS[m.group(0)]
        raise InvalidArgument(f"the path variable {m.group(0)} is not supported (use $JOB_ID $TASK_ID $JOB_NAME)")

    return _SGE_VAR.sub(one, path)


def sge_resources(text: str) -> Options | None:
    """``-l h_rt=...,h_vmem=...,mem_free=...``; None if another resource is asked for."""
    options: Options = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if key in ("h_rt", "s_rt"):
            options["timeout"] = seconds(parsing.duration(value, key))
        elif key in ("h_vmem", "mem_free", "s_vmem"):
            options["memory"] = f"{int(value) / 1048576:g}m" if value.isdigit() else value  # bare: bytes
        else:
            return None
    return options


def seconds(value: float) -> str:
    """A duration in the form the command line's --timeout reads back unchanged."""
    return f"{value:g}s"


# --- after the options are merged -------------------------------------------------------------------------
def finish_paths(options: Options, name: str) -> None:
    """Put the job's name into output/error paths that asked for it (%x, $JOB_NAME)."""
    for key in ("output_path", "error_path", "input_path"):
        if isinstance(options.get(key), str):
            options[key] = options[key].replace("\0NAME\0", name)


def check_backend(script: JobScript, backend: str, unsupported: tuple[str, ...]) -> list[str]:
    """The native options for ``backend`` from the directives only its scheduler understands. Raises
    UnsupportedAttribute, naming the script and line, for a directive ``backend`` cannot honour: one of
    another scheduler, or one that sets a template field in ``unsupported``."""
    native: list[str] = []
    for d in script.foreign:
        if PREFIXES[d.prefix] != backend:
            raise UnsupportedAttribute(f"{d.describe(script.name)}: not understood on the {backend} backend "
                                       f"(understood: #SBATCH {SBATCH_OPTIONS}; #$ {SGE_OPTIONS})")
        native.extend(d.words)
    for key, d in script.origin.items():
        field_name = FIELDS.get(key)
        if field_name in unsupported:
            raise UnsupportedAttribute(f"{d.describe(script.name)}: the {backend} backend cannot honour it "
                                       f"({field_name.replace('_', ' ')})")
    return native


#: Submit option -> the template field it sets (for ``check_backend``).
FIELDS = {"cwd": "working_directory", "env": "job_environment", "export_all": "job_environment",
          "input_path": "input_path", "output_path": "output_path", "error_path": "error_path",
          "timeout": "timeout", "queue": "queue_name", "memory": "resource_limits", "cpus": "resource_limits"}


# --- how the job runs it -----------------------------------------------------------------------------------
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
    wrapper = ('f=$(mktemp "${TMPDIR:-/tmp}/drmaa2-script.XXXXXX") && printf "%s" "$0" > "$f" || exit 126; '
               f'exec {shlex.join(script.interpreter)} "$f" "$@"')
    return ["/bin/sh", "-c", wrapper, text, *args]


#: Runs the command after it in an empty environment but for drmaa2's own variables and KEY=VALUE words.
_CLEAN_ENV = ('exec env -i ${DRMAA2_TASK_ID+"DRMAA2_TASK_ID=$DRMAA2_TASK_ID"} "DRMAA2_JOB_ID=$DRMAA2_JOB_ID" '
              '"DRMAA2_SESSION=$DRMAA2_SESSION" "$@"')


def argv_clean_env(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """``argv`` run in an empty environment holding only ``env`` and DRMAA2_JOB_ID, DRMAA2_TASK_ID,
    DRMAA2_SESSION (``--export=NONE``): ``env -i`` through a fixed /bin/sh program, the words passed as
    its arguments, so they still reach the job byte for byte. Raises InvalidArgument for a command whose
    name holds "=", which env would take for a variable."""
    if "=" in argv[0]:
        raise InvalidArgument(f"--export=NONE: the command {argv[0]!r} holds '=', which env reads as a variable")
    return ["/bin/sh", "-c", _CLEAN_ENV, "sh", *(f"{k}={v}" for k, v in env.items()), *argv]


def job_command(script: JobScript, args: list[str], backend: str, home: Path) -> tuple[list[str], list[str]]:
    """The job's command for ``backend`` and the native scheduler options its directives pass on. Raises
    UnsupportedAttribute (see ``check_backend``), StoreError when the copy cannot be written."""
    from .backends import backend_class  # the registry: loads no backend module

    cls = backend_class(backend)
    native = check_backend(script, backend, cls.unsupported_fields)
    if not cls.sees_home:
        return argv_inline(script, args), native
    try:
        copy = keep_copy(script, home)
    except OSError as e:
        raise StoreError(f"cannot keep a copy of job script {script.name}: {e.strerror}") from None
    return argv_from_file(script, copy, args), native


def merge(given: Options, script: JobScript) -> Options:
    """The command line's options over the script's: an option given on the command line (not empty) wins;
    environment variables add up, the command line's last."""
    merged = dict(given)
    for key, value in script.options.items():
        if key in ("env", "variables"):
            merged[key] = [*value, *(given.get(key) or [])]
        elif key == "join" and given.get("error_path"):
            continue  # -e on the command line: its own error file
        elif given.get(key) in (None, False, [], ()):
            merged[key] = value
    return merged

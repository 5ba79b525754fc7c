"""A job script read at submit time: its interpreter, its directives, the options they set (under the command
line's), and how a command word or standard input is recognised as one."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import InvalidArgument
from .directives import BOOKKEEPING, CHECKED, FAMILIES, NAME_MARK, Item, Options
from .families import items

#: Directive prefix -> the family of batch scripts it belongs to (None: drmaa2's own).
PREFIXES: dict[str, str | None] = {"#DRMAA2": None, **FAMILIES}
#: The name of a job whose script came on standard input (qsub's).
STDIN_NAME = "STDIN"


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
    #: The options whose meaning depends on the backend (checked requests, bookkeeping, options drmaa2 does
    #: not know): the owning scheduler gets them as they are, ``launch`` decides on other backends.
    others: list[tuple[Directive, Item]] = field(default_factory=list)

    @property
    def family(self) -> str | None:
        """The family of the script's first scheduler directive (sbatch, qsub, pbs); None without one."""
        return next((PREFIXES[d.prefix] for d in self.directives if PREFIXES[d.prefix]), None)


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


def find(words: list[str], stdin: BinaryIO | None) -> JobScript | None:
    """The job script a submit names (``words``: the command and its arguments), or, with no command, the one
    on ``stdin`` if that is a pipe or file; None for a command. Raises InvalidArgument."""
    if words:
        return read_script(words[0]) if is_script(words[0]) else None
    if stdin is None or not stdin_has_script(stdin.fileno()):
        return None
    data = stdin.read()
    return parse(STDIN_NAME, data) if data.strip() else None


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
        family = PREFIXES[d.prefix]
        try:
            if family is None:
                _set(script, d, parse_drmaa2(d.words))
                continue
            for item in items(family, d.words):
                if item.spec is None or item.spec.treatment in (CHECKED, BOOKKEEPING):
                    script.others.append((d, item))
                _set(script, d, item.options())
        except InvalidArgument as e:
            raise InvalidArgument(f"{d.describe(script.name)}: {e}") from None
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


def _set(script: JobScript, d: Directive, found: Options) -> None:
    if "shell" in found:
        script.interpreter = [found.pop("shell")]
    for key, value in found.items():
        if key in ("env", "variables", "after", "after_any") and key in script.options:
            value = [*script.options[key], *value]
        if key == "export_all" and key in script.options:
            continue
        script.options[key] = value
        script.origin[key] = d


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


def finish_paths(options: Options, name: str) -> None:
    """Put the job's name into output/error paths that asked for it (%x, $JOB_NAME)."""
    for key in ("output_path", "error_path", "input_path"):
        if isinstance(options.get(key), str):
            options[key] = options[key].replace(NAME_MARK, name)



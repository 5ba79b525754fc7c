"""sbatch's and qsub's directives as drmaa2 submit options: the options every backend understands
(``SBATCH_OPTIONS``, ``SGE_OPTIONS``), with their units (a bare #SBATCH time is minutes, a bare h_rt
seconds, a bare h_vmem bytes) and their path placeholders turned into drmaa2's. A directive holding any other
option is foreign (None): its own scheduler gets it untouched, other backends refuse it
(``launch.check_backend``)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from .. import parsing
from ..errors import InvalidArgument

#: Options a job script may carry, by the submit option they set (keys of ``commands.submit``'s options).
Options = dict[str, Any]
#: Stands for the job's name in a path until it is known (sbatch %x, qsub $JOB_NAME; ``script.finish_paths``).
NAME_MARK = "\0NAME\0"


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
            return NAME_MARK
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
_SGE_VARS = {"$JOB_ID": "%A", "$TASK_ID": "%a", "$JOB_NAME": NAME_MARK}
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



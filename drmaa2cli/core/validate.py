"""One check of a job template, before anything is written: the CLI, job scripts, the DRMAA2 binding and the
Python API all submit through ``Submission.submit_jobs``, which calls ``check_template`` first.

What is checked, in this order, each failure an InvalidArgument (exit 201) whose message is the one line every
entry shows:

1. Types: each field holds what ``models.JobTemplate`` declares (a list of strings, not a string; a whole number,
   not True), strings without NUL that the file system can encode, numbers finite, extension values plain JSON.
2. Ranges: a positive run-time limit and resource limits, priority and retries within what the CLI's options
   take, times within what a date can show.
3. Combinations: a begin time before the deadline, a retry delay only with retries.
4. Files on this machine (``local_fields``): a command given as a path exists and is executable, the working
   directory can be entered, the input file read and the output files written, by this user. Only where the
   backend's jobs use this machine's files; never a command inside an image, nor a path on a scheduler's
   execution hosts, and never a field the backend refuses anyway (its own refusal says more).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument
from ..models import ArraySpec, JobTemplate

if TYPE_CHECKING:
    from ..backends import Backend

#: What `--priority` and `--retries` take (the CLI's option table reads these bounds).
PRIORITY_BOUNDS = (-1_000_000, 1_000_000)
RETRIES_BOUNDS = (0, 1000)
#: The most tasks one array may have (`--array`, run_bulk_jobs).
MAX_TASKS = 100_000
#: The latest time a template may name: 9999-12-31 UTC (a later one cannot be shown as a date).
LATEST = 253_402_300_799.0

_STRINGS = ("remote_command", "job_name", "working_directory", "input_path", "output_path", "error_path",
            "job_category", "queue_name", "accounting_id", "comment")
_BOOLS = ("join_files", "submit_as_hold")
_STRING_LISTS = ("args", "candidate_machines")
_STRING_MAPS = ("job_environment", "stage_in_files", "stage_out_files")
#: The resource limits the core knows (``models.JobTemplate.resource_limits``): whole MiB, or CPUs.
_LIMITS = {"memory_mb": int, "disk_mb": int, "cpus": float}
#: The extension keys the backends read, and what each holds; other keys are refused by the backend.
_EXTENSIONS: dict[str, tuple[type, ...]] = {"user": (str,), "pull": (bool,), "stdin": (bool,), "native": (list,)}
#: Fields whose values name files: a placeholder in them (%A, $DRMAA2_INDEX$) is filled per job, later.
_PLACEHOLDERS = ("%", "$")


def check_template(template: JobTemplate, backend: type[Backend] | None = None) -> None:
    """Refuse a template that is malformed (types, ranges, begin after deadline) or, for ``backend`` (its class;
    None: no file is looked at), names a file of this machine that the job could not use. Raises
    InvalidArgument with one line."""
    if not isinstance(template, JobTemplate):
        raise InvalidArgument(f"a job template is needed, not {shown(template)}")
    _check_types(template)
    _check_ranges(template)
    if template.start_time is not None and template.deadline_time is not None \
            and template.start_time >= template.deadline_time:
        from ..when import local_text

        raise InvalidArgument(f"the job's begin time {local_text(template.start_time)} (--begin, start_time) is "
                              f"not before its deadline {local_text(template.deadline_time)} (--deadline, "
                              "deadline_time): it would never run")
    if template.retry_delay and not template.retries:
        raise InvalidArgument("--retry-delay needs --retries N (retry_delay without retries)")
    if backend is not None:
        check_files(template, local_fields(backend) - set(backend.refused_fields()))


def check_array(array: ArraySpec) -> None:
    """Refuse an array whose indices are not whole numbers first <= last by step >= 1, with more than MAX_TASKS
    tasks, or a throttle below 1. Raises InvalidArgument."""
    numbers = (array.first, array.last, array.step)
    if not all(_whole(n) for n in numbers) or (array.max_parallel is not None and not _whole(array.max_parallel)):
        raise InvalidArgument(f"array indices must be whole numbers, not {shown(numbers)}")
    if array.first < 0 or array.last < array.first or array.step < 1:
        raise InvalidArgument(f"invalid array {array.first}-{array.last}:{array.step}: 0 <= FIRST <= LAST and "
                              "STEP >= 1")
    if len(array.indices) > MAX_TASKS:
        raise InvalidArgument(f"array {array.first}-{array.last}:{array.step} has more than {MAX_TASKS} tasks")
    if array.max_parallel is not None and array.max_parallel < 0:
        raise InvalidArgument("an array's MAXPARALLEL must be a whole number from 0 (0: no limit)")


def local_fields(backend: type[Backend]) -> frozenset[str]:
    """The template fields that name files of this machine for jobs of ``backend``, decided from its class:

    - jobs that run here (``local_input``: process): the command when given as a path, the working directory,
      the input and both output files;
    - jobs in a container or a task (``sees_home`` False: docker, podman, kubernetes, cf): only the output files,
      which drmaa2 writes here from the platform's log; the command and working directory are the image's;
    - jobs of a scheduler (slurm, gridengine, libdrmaa): none, their paths are the execution hosts'
      (the backend checks that the directories exist, on a shared file system)."""
    if backend.local_input:
        return frozenset({"remote_command", "working_directory", "input_path", "output_path", "error_path"})
    if not backend.sees_home:
        return frozenset({"output_path", "error_path"})
    return frozenset()


def check_files(template: JobTemplate, fields: frozenset[str] | set[str]) -> None:
    """The files ``fields`` name, as this user would open them. Raises InvalidArgument."""
    cwd = template.working_directory
    if "working_directory" in fields and cwd and not _has_placeholder(cwd):
        if not os.path.isdir(cwd):
            raise InvalidArgument(f"working directory {cwd} does not exist" if not os.path.exists(cwd)
                                  else f"working directory {cwd} is not a directory")
        if not os.access(cwd, os.X_OK):
            raise InvalidArgument(f"cannot enter working directory {cwd}: Permission denied")
    command = template.remote_command
    relative = not os.path.isabs(command) and cwd is not None and _has_placeholder(cwd)
    if "remote_command" in fields and "/" in command and not _has_placeholder(command) and not relative:
        path = os.path.join(cwd or os.getcwd(), command)
        where = "" if os.path.isabs(command) else f" (from {cwd or os.getcwd()})"
        if not os.path.exists(path):
            raise InvalidArgument(f"command {command} does not exist{where}")
        if os.path.isdir(path):
            raise InvalidArgument(f"command {command} is a directory{where}")
        if not os.access(path, os.X_OK):
            raise InvalidArgument(f"command {command} is not executable{where}: Permission denied")
    source = template.input_path
    if "input_path" in fields and source and not _has_placeholder(source):
        if not os.path.exists(source) or os.path.isdir(source):
            raise InvalidArgument(f"input file {source} does not exist")
        if not os.access(source, os.R_OK):
            raise InvalidArgument(f"cannot read input file {source}: Permission denied")
    for name in ("output_path", "error_path"):
        target = getattr(template, name)
        if name in fields and target and not (name == "error_path" and template.join_files):
            _check_writable(target)


def _check_writable(path: str) -> None:
    full = os.path.abspath(path)
    parent = os.path.dirname(full)
    if _has_placeholder(parent):
        return  # a directory per job or task: it can only be looked at once the job is there
    if not os.path.isdir(parent):
        raise InvalidArgument(f"the directory for output file {path} does not exist")
    if _has_placeholder(os.path.basename(full)) or not os.path.lexists(full):
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InvalidArgument(f"cannot write output file {path}: Permission denied")
        return
    if os.path.isdir(full):
        raise InvalidArgument(f"output file {path} is a directory")
    if not os.access(full, os.W_OK):
        raise InvalidArgument(f"cannot write output file {path}: Permission denied")


def _check_types(t: JobTemplate) -> None:
    for name in _STRINGS:
        value = getattr(t, name)
        if value is not None and not _string(value):
            raise InvalidArgument(f"{name} must be a string, not {shown(value)}{_why(value)}")
    if t.remote_command is None:
        raise InvalidArgument("remote_command must be a string, not None")
    for name in _BOOLS:
        if not isinstance(getattr(t, name), bool):
            raise InvalidArgument(f"{name} must be True or False, not {shown(getattr(t, name))}")
    for name in _STRING_LISTS:
        value = getattr(t, name)
        if not isinstance(value, list) or not all(_string(v) for v in value):
            raise InvalidArgument(f"{name} must be a list of strings, not {shown(value)}{_why(value)}")
    for name in _STRING_MAPS:
        value = getattr(t, name)
        if not isinstance(value, dict) or not all(_string(k) and k and _string(v) for k, v in value.items()):
            raise InvalidArgument(f"{name} must map strings to strings, not {shown(value)}{_why(value)}")
    bad = next((k for k in t.job_environment if "=" in k), None)
    if bad is not None:
        raise InvalidArgument(f"invalid environment variable name {bad!r}")
    for name in ("timeout", "start_time", "deadline_time", "retry_delay"):
        value = getattr(t, name)
        if value is not None and not _number(value):
            raise InvalidArgument(f"{name} must be a number of seconds, not {shown(value)}")
    for name in ("priority", "retries"):
        if not _whole(getattr(t, name)):
            raise InvalidArgument(f"{name} must be a whole number, not {shown(getattr(t, name))}")
    if t.min_phys_memory is not None and not _whole(t.min_phys_memory):
        raise InvalidArgument(f"min_phys_memory must be a whole number of KiB, not {shown(t.min_phys_memory)}")
    for name in ("resource_limits", "extension"):
        value = getattr(t, name)
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise InvalidArgument(f"{name} must be a dict with string keys, not {shown(value)}")
    for key, value in t.extension.items():
        allowed = _EXTENSIONS.get(key)
        if (allowed is not None and value is not None and not isinstance(value, allowed)) or not _json(value):
            raise InvalidArgument(f"extension {key!r} cannot be {shown(value)}")
    if not all(_string(w) for w in t.extension.get("native") or []):
        raise InvalidArgument(f"extension 'native' must be a list of strings, not {shown(t.extension['native'])}")


def _check_ranges(t: JobTemplate) -> None:
    if t.timeout is not None and t.timeout <= 0:
        raise InvalidArgument(f"the run-time limit (--timeout, wallclock time) must be positive, not {t.timeout}")
    if t.retry_delay is not None and t.retry_delay < 0:
        raise InvalidArgument(f"--retry-delay must not be negative, not {t.retry_delay}")
    for name in ("start_time", "deadline_time"):
        value = getattr(t, name)
        if value is not None and not 0 <= value <= LATEST:
            raise InvalidArgument(f"{name} {value} is not a time between 1970 and 9999")
    low, high = PRIORITY_BOUNDS
    if not low <= t.priority <= high:
        raise InvalidArgument(f"priority must be between {low} and {high}, not {t.priority}")
    low, high = RETRIES_BOUNDS
    if not low <= t.retries <= high:
        raise InvalidArgument(f"retries must be between {low} and {high}, not {t.retries}")
    if t.min_phys_memory is not None and t.min_phys_memory <= 0:
        raise InvalidArgument(f"min_phys_memory must be positive, not {t.min_phys_memory}")
    for key, value in t.resource_limits.items():
        kind = _LIMITS.get(key)
        if kind is None:
            if not _json(value):
                raise InvalidArgument(f"resource limit {key!r} cannot be {shown(value)}")
            continue  # the backend refuses what it cannot honour, by name
        if not (_whole(value) if kind is int else _number(value)) or value <= 0:
            what = "whole number of MiB" if kind is int else "number of CPUs"
            raise InvalidArgument(f"resource limit {key} must be a positive {what}, not {shown(value)}")


def _string(value: object) -> bool:
    """A str the job can be given: no NUL (no C string holds one), encodable by the file system (a lone
    surrogate is not, unless it stands for a byte of a name that is not UTF-8)."""
    if not isinstance(value, str) or "\0" in value:
        return False
    try:
        os.fsencode(value)
    except UnicodeError:
        return False
    return True


def _why(value: object) -> str:
    """Why a string in ``value`` is no string a job can be given, or ""."""
    items = value.items() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    for item in items:
        for text in item if isinstance(item, tuple) else (item,):
            if isinstance(text, str) and "\0" in text:
                return " (a NUL character)"
            if isinstance(text, str) and not _string(text):
                return " (a character the file system cannot encode)"
    return ""


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json(value: object, depth: int = 0) -> bool:
    """A value the store can keep as it is: JSON's null, booleans, finite numbers, strings, lists, objects."""
    if depth > 20:
        return False
    if value is None or isinstance(value, bool | int) or (isinstance(value, str) and _string(value)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _json(v, depth + 1) for k, v in value.items())
    return False


def _has_placeholder(path: str) -> bool:
    return any(p in path for p in _PLACEHOLDERS)


def shown(value: Any) -> str:
    """A value as a message shows it: its repr, cut short, and its type when the repr does not say it."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, bool | int | float | str | list | dict | tuple) or value is None:
        return text
    return f"{text} ({type(value).__name__})"

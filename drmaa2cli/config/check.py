"""What a config file may hold, checked when it is read: an unknown key (a misspelling) or a value of the wrong
kind is refused with the file and the line, instead of being silently ignored.

tomllib gives no positions of keys, so the line is found again in the text (``locate``); keys written in a
form that finds no line (quoted, dotted inline) are still refused, without a line number."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from ..errors import InvalidArgument
from ..models import SESSION_NAME

Check = Callable[[Any], str | None]  # None when the value is fine, else what it must be


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return None if ok else "a non-negative number"


def _backend(value: Any) -> str | None:
    from ..backends import names  # only when a config file sets it

    if not isinstance(value, str):
        return "a string"
    return None if value in names() else f"one of {', '.join(names())}"


def _session(value: Any) -> str | None:
    if not isinstance(value, str):
        return "a string"
    return None if SESSION_NAME.match(value) else "a session name (letters, digits and . _ @ -, at most 64)"


def _slots(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "a whole number from 1 up"


TOP: dict[str, Check] = {"session": _session, "backend": _backend}
#: The checks of the kinds of setting the backends declare (``backends.settings_of``).
KINDS: dict[str, Check] = {"boolean": _boolean, "string": _string, "number": _number}


def check(path: Path, text: str, config: dict[str, Any]) -> None:
    """Raise InvalidArgument naming ``path`` and the line of the first unknown key or invalid value."""
    for key, value in config.items():
        if key == "backends":
            _check_backends(path, text, value)
        elif key in ("queues", "sessions"):
            _check_queues(path, text, value, key)
        elif key == "jobscripts":  # [jobscripts] strict = true: a script's bookkeeping directives are refused
            for name, setting in (value.items() if isinstance(value, dict) else [("", value)]):
                if name != "strict" or _boolean(setting) is not None:
                    _refuse(path, text, "jobscripts", name, "[jobscripts] holds only strict = true or false")
        elif key == "notify":
            _check_notify(path, text, value)
        elif key == "remote":  # [remote] url, token_file: the `drmaa2 serve` server every command goes to
            for name, setting in (value.items() if isinstance(value, dict) else [("", value)]):
                if name not in ("url", "token_file") or not isinstance(setting, str):
                    _refuse(path, text, "remote", name, "[remote] holds url and token_file, both strings")
        elif key not in TOP:
            known = ", ".join([*TOP, "[backends.NAME]", "[queues.NAME]", "[sessions.NAME]", "[jobscripts]",
                               "[notify]", "[remote]"])
            _refuse(path, text, "", key, f"unknown setting {key!r} (known: {known})")
        elif (want := TOP[key](value)) is not None:
            _refuse(path, text, "", key, f"{key} must be {want}, not {value!r}")


def _check_backends(path: Path, text: str, tables: Any) -> None:
    if not isinstance(tables, dict):
        _refuse(path, text, "", "backends", "backends must be a table of [backends.NAME] tables")
    from ..backends import REGISTRY, settings_of  # only when a config file has [backends.NAME]

    for name, table in tables.items():
        known = settings_of(name)
        if known is None:
            _refuse(path, text, "", f"backends.{name}",
                    f"unknown backend [backends.{name}] (known: {', '.join(REGISTRY)})", header=True)
        if not isinstance(table, dict):
            _refuse(path, text, "backends", name, f"backends.{name} must be a table")
        for key, value in table.items():
            where = f"backends.{name}"
            if key not in known:
                hint = f"known: {', '.join(known)}" if known else "the backend has no settings"
                _refuse(path, text, where, key, f"unknown setting {key!r} in [{where}] ({hint})")
            elif (want := KINDS[known[key]](value)) is not None:
                _refuse(path, text, where, key, f"[{where}] {key} must be {want}, not {value!r}")


def _check_queues(path: Path, text: str, tables: Any, kind: str = "queues") -> None:
    """Local queues and sessions' slots (``drmaa2cli/deferred/queues.py``): ``[queues.NAME] slots = N`` or
    ``[sessions.NAME] slots = N``, nothing else."""
    if not isinstance(tables, dict):
        _refuse(path, text, "", kind, f"{kind} must be a table of [{kind}.NAME] tables")
    for name, table in tables.items():
        where = f"{kind}.{name}"
        if not isinstance(table, dict):
            _refuse(path, text, kind, name, f"{where} must be a table")
        if ":" in name:  # session slots are named "session:NAME" where queue names go
            _refuse(path, text, "", where, f"[{where}]: a name may not hold ':'", header=True)
        if "slots" not in table:
            _refuse(path, text, "", where, f"[{where}] needs slots = N (a whole number from 1 up)", header=True)
        for key, value in table.items():
            if key != "slots":
                _refuse(path, text, where, key, f"unknown setting {key!r} in [{where}] (known: slots)")
            elif (want := _slots(value)) is not None:
                _refuse(path, text, where, key, f"[{where}] slots must be {want}, not {value!r}")


def _check_notify(path: Path, text: str, table: Any) -> None:
    """``[notify] command = "..."``: the hook every job runs at its events (``drmaa2cli/notify``), a shell
    command line; nothing else."""
    if not isinstance(table, dict):
        _refuse(path, text, "", "notify", 'notify must be a table ([notify] command = "...")')
    for key, value in table.items():
        if key != "command":
            _refuse(path, text, "notify", key, f"unknown setting {key!r} in [notify] (known: command)")
        elif not isinstance(value, str) or not value.strip():
            _refuse(path, text, "notify", key, f"[notify] command must be a shell command line, not {value!r}")


def _refuse(path: Path, text: str, table: str, key: str, message: str, header: bool = False) -> NoReturn:
    line = locate(text, table, key, header)
    raise InvalidArgument(f"config file {path}{f', line {line}' if line else ''}: {message}")


_HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]")


def locate(text: str, table: str, key: str, header: bool = False) -> int | None:
    """The 1-based line of ``key`` in ``[table]`` (``table`` "" for the top), or of the header ``[key]``."""
    current = ""
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            current = m.group(1).replace(" ", "")
            if header and current == key:
                return number
            continue
        if not header and current == table and assignment.match(line):
            return number
    return None

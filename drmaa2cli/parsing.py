"""Parsers for option values (durations, sizes, signals, KEY=VALUE, mounts): one clear InvalidArgument line
for anything malformed, shared by every command."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterable, Mapping

from .errors import InvalidArgument
from .models import ArraySpec

# ASCII only (int() and float() also read other scripts' digits), and \Z: $ matches before a final newline.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*\Z", re.ASCII)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*\Z", re.IGNORECASE | re.ASCII)
_SIZE_MIB = {"k": 1 / 1024, "": 1.0, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def duration(text: str, option: str = "--timeout") -> float:
    """Seconds from "90", "90s", "1.5m", "2h", "1d", "500ms"."""
    m = _DURATION.match(text)
    if not m:
        raise InvalidArgument(f"{option}: invalid duration {text!r} (examples: 90, 90s, 5m, 1h)")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def size_mib(text: str, option: str) -> int:
    """Mebibytes from "512", "512m", "1g", "1.5G" (a bare number means MiB)."""
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise InvalidArgument(f"{option}: invalid size {text!r} (examples: 512m, 2g)")
    return max(1, round(float(m.group(1)) * _SIZE_MIB[m.group(2).lower()]))


def positive_float(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise InvalidArgument(f"{option}: expected a positive number, got {text!r}")
    return value


def signal_number(text: str) -> int:
    """A signal from "TERM", "SIGTERM", "term" or "15"."""
    name = text.strip().upper()
    if name.isdigit():
        number = int(name)
        if 0 < number < signal.NSIG:
            return number
    else:
        name = name if name.startswith("SIG") else "SIG" + name
        sig = getattr(signal.Signals, name, None)
        if sig is not None:
            return int(sig)
    raise InvalidArgument(f"--signal: unknown signal {text!r} (examples: TERM, KILL, INT, 9)")


def environment(items: Iterable[str], current: Mapping[str, str] | None = None) -> dict[str, str]:
    """``KEY=VALUE`` pairs; a bare ``KEY`` takes its value from the current environment (like qsub -v)."""
    env: dict[str, str] = {}
    current = os.environ if current is None else current
    for item in items:
        key, sep, value = item.partition("=")
        if not _ENV_NAME.match(key):
            raise InvalidArgument(f"--env: expected KEY=VALUE, got {item!r}")
        if not sep:
            if key not in current:
                raise InvalidArgument(f"--env: {key} is not set in the current environment")
            value = current[key]
        env[key] = value
    return env


def mounts(items: Iterable[str]) -> dict[str, str]:
    """``SRC:DST[:ro]`` bind mounts -> {absolute SRC: "DST" or "DST:ro"}."""
    result: dict[str, str] = {}
    for item in items:
        parts = item.split(":")
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            src, dst, mode = parts
        elif len(parts) == 2:
            (src, dst), mode = parts, "rw"
        else:
            raise InvalidArgument(f"--mount: expected SRC:DST[:ro], got {item!r}")
        if not src or not dst.startswith("/"):
            raise InvalidArgument(f"--mount: expected SRC:DST[:ro] with an absolute DST, got {item!r}")
        result[os.path.abspath(src)] = dst + (":ro" if mode == "ro" else "")
    return result


_ARRAY = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?(?:%(\d+))?\Z", re.ASCII)


def array(text: str) -> ArraySpec:
    """``1-100[:STEP][%MAXPARALLEL]`` (or one index ``N``) as an ArraySpec."""
    m = _ARRAY.match(text.strip())
    if not m:
        raise InvalidArgument(f"--array: expected FIRST-LAST[:STEP][%MAXPARALLEL], got {text!r}")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else first
    step = int(m.group(3) or 1)
    limit = int(m.group(4)) if m.group(4) else None
    if first < 1 or last < first or step < 1 or (limit is not None and limit < 1):
        raise InvalidArgument(f"--array: {text!r}: indices start at 1, LAST >= FIRST, STEP and %N >= 1")
    if len(range(first, last + 1, step)) > 100_000:
        raise InvalidArgument(f"--array: {text!r} has more than 100000 tasks")
    return ArraySpec(first, last, step, limit)


def job_ids(items: Iterable[str]) -> list[str]:
    """Ids given as repeated options or comma-separated lists: ``--after 3,4 --after 5``."""
    return [part.strip() for item in items for part in item.split(",") if part.strip()]

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
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*\Z", re.ASCII)
_UNITS = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*", re.ASCII)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# The schedulers' clock forms: [D-]HH:MM:SS, MM:SS, D-HH, D-HH:MM (sbatch --time, qsub -l h_rt).
_CLOCK = re.compile(r"^\s*(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?\s*\Z", re.ASCII)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*\Z", re.IGNORECASE | re.ASCII)
_SIZE_MIB = {"k": 1 / 1024, "": 1.0, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")

#: What --help says of a duration (every option that takes one).
DURATION_HELP = "HH:MM:SS, MM:SS, D-HH:MM:SS, 1h30m, 90s; a bare number is seconds"


def duration(text: str, option: str = "--timeout", bare: float = 1.0) -> float:
    """Seconds from a duration as people and schedulers write it: "90", "90s", "1h30m", "1.5m", "500ms",
    "2d", "HH:MM:SS", "MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS". A bare number counts ``bare`` seconds per
    unit: 1 on the command line and in #$ (h_rt), 60 in #SBATCH (sbatch's minutes).
    Raises InvalidArgument for anything else."""
    m = _NUMBER.match(text)
    if m:
        return float(m.group(1)) * bare
    clock = _CLOCK.match(text)
    if clock and (clock.group(1) is not None or clock.group(3) is not None):
        days, second, third = (int(g) if g is not None else None for g in clock.group(1, 3, 4))
        first = int(clock.group(2))
        if days is not None:  # D-HH[:MM[:SS]]
            return days * 86400.0 + first * 3600.0 + (second or 0) * 60.0 + (third or 0)
        if third is not None:  # HH:MM:SS
            return first * 3600.0 + (second or 0) * 60.0 + third
        return first * 60.0 + (second or 0)  # MM:SS
    parts = list(_UNITS.finditer(text.strip()))
    whole = "".join(p.group(0) for p in parts) == text.strip()
    if parts and whole and len({p.group(2) for p in parts}) == len(parts):  # 1h30m, not 1h1h
        return sum(float(p.group(1)) * _UNIT_SECONDS[p.group(2)] for p in parts)
    raise InvalidArgument(f"{option}: invalid duration {text!r} (examples: 90s, 1h30m, 01:30:00, 1-00:00:00)")


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


def environment(
    items: Iterable[str], current: Mapping[str, str] | None = None, option: str = "--env"
) -> dict[str, str]:
    """``KEY=VALUE`` pairs; a bare ``KEY`` takes its value from the current environment (like qsub -v)."""
    env: dict[str, str] = {}
    current = os.environ if current is None else current
    for item in items:
        key, sep, value = item.partition("=")
        if not _ENV_NAME.match(key):
            raise InvalidArgument(f"{option}: expected KEY=VALUE, got {item!r}")
        if not sep:
            if key not in current:
                raise InvalidArgument(f"{option}: {key} is not set in the current environment")
            value = current[key]
        env[key] = value
    return env


def variable_list(text: str) -> list[str]:
    """qsub's ``-v A=1,B=2,C`` split at its commas; a comma or backslash inside a value is written ``\\,``
    or ``\\\\`` (``-v 'LIST=a\\,b'`` gives LIST the value ``a,b``)."""
    items: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in (",", "\\"):
            current.append(text[i + 1])
            i += 2
            continue
        if char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    items.append("".join(current))
    return [item for item in items if item]


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


_ARRAY_ITEM = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?\Z", re.ASCII)
_ARRAY_FORMS = "FIRST-LAST[:STEP][%MAXPARALLEL] or a list such as 1,3,5-9"


def array(text: str) -> ArraySpec:
    """An array as sbatch writes it: ``0-15``, ``1-9:2%3``, ``1,3,5-9%2`` (or one index ``N``)."""
    body, percent, limit_text = text.strip().partition("%")
    items = [_ARRAY_ITEM.match(item) for item in body.split(",")]
    if not all(items) or (percent and not limit_text.isascii()) or (percent and not limit_text.isdigit()):
        raise InvalidArgument(f"--array: expected {_ARRAY_FORMS}, got {text!r}")
    limit = int(limit_text) if percent else None
    ranges = []
    for m in items:
        assert m is not None
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        step = int(m.group(3) or 1)
        if last < first or step < 1:
            raise InvalidArgument(f"--array: {text!r}: LAST >= FIRST and STEP >= 1 in each range")
        if len(range(first, last + 1, step)) > 100_000:
            raise InvalidArgument(f"--array: {text!r} has more than 100000 tasks")
        ranges.append((first, last, step))
    if len(ranges) == 1:
        return ArraySpec(*ranges[0], limit)
    indices = sorted({i for first, last, step in ranges for i in range(first, last + 1, step)})
    if len(indices) > 100_000:
        raise InvalidArgument(f"--array: {text!r} has more than 100000 tasks")
    return ArraySpec(indices[0], indices[-1], 1, limit, only=tuple(indices))


def job_ids(items: Iterable[str]) -> list[str]:
    """Ids given as repeated options or comma-separated lists: ``--after 3,4 --after 5``."""
    return [part.strip() for item in items for part in item.split(",") if part.strip()]

"""Points in time given on the command line (``--begin``): absolute in local time or relative to now.

Kept apart from ``parsing`` on purpose: relative times reuse ``parsing.duration``, and nothing here parses a
duration of its own.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from . import parsing
from .errors import InvalidArgument

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\Z", re.ASCII)
EXAMPLES = "examples: 2026-12-01T08:00, 08:00, +10m"


def point_in_time(text: str, option: str = "--begin", now: float | None = None) -> float:
    """Epoch seconds of ``text``: ``+DURATION`` (``+90s``, ``+10m``, ``+2h``) from now; a local date and time
    ``2026-12-01T08:00[:SS]`` (a space instead of T too); or a clock time ``08:00[:SS]``, today, or tomorrow
    when that time of day has passed (as ``sbatch --begin`` reads it). Raises InvalidArgument."""
    now = time.time() if now is None else now
    text = text.strip()
    if text.startswith("+"):
        return now + parsing.duration(text[1:], option)
    clock = _CLOCK.match(text)
    try:
        if clock:
            hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
            today = datetime.fromtimestamp(now).replace(hour=hour, minute=minute, second=second, microsecond=0)
            return (today if today.timestamp() > now else today + timedelta(days=1)).timestamp()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2})?)?", text, re.ASCII):
            return datetime.fromisoformat(text).timestamp()
    except ValueError:
        pass  # 25:00, 2026-02-30: the same message as any other bad value
    raise InvalidArgument(f"{option}: invalid time {text!r} ({EXAMPLES})")


def local_text(epoch: float) -> str:
    """How a start time reads in an annotation: local time, to the second."""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")

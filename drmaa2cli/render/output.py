"""The output streams: an ``Output`` that knows whether it writes to a terminal, JSON on stdout, notes on stderr,
and what must not reach a terminal raw (``printable``)."""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from ..models import SCHEMA_VERSION, JobState

STATE_STYLE = {
    JobState.DONE: "green",
    JobState.FAILED: "red",
    JobState.RUNNING: "cyan",
    JobState.SUSPENDED: "yellow",
    JobState.QUEUED_HELD: "yellow",
    JobState.REQUEUED_HELD: "yellow",
}


# What must not reach a terminal raw: control characters (newlines would split a table row, escape sequences
# could rewrite the screen), bidirectional overrides (they reorder what is shown) and lone surrogates (bytes
# that were not UTF-8, kept by Python's surrogateescape).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` for a person: one line, every unprintable character escaped as in a Python literal."""
    return _UNPRINTABLE.sub(_escape_char, text)


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte it stood for
    return m.group().encode("unicode_escape").decode()


def _encode_errors(err: UnicodeError) -> tuple[str | bytes, int]:
    """Lone surrogates become the bytes they stand for; what the stream's encoding cannot show, an escape."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    chunk = err.object[err.start : err.end]
    if all(0xDC80 <= ord(c) <= 0xDCFF for c in chunk):
        return bytes(ord(c) - 0xDC00 for c in chunk), err.end
    return codecs.backslashreplace_errors(err)


codecs.register_error("drmaa2", _encode_errors)


def safe_streams() -> None:
    """Let stdout and stderr write any text drmaa2 holds: names, arguments and paths may be bytes that are
    not UTF-8 (kept as lone surrogates) or characters the locale's encoding lacks. Without this, printing
    them was an internal error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="drmaa2")


@dataclass
class Output:
    """Where output goes and how it may look; decided once (tests pass their own streams)."""

    out: TextIO
    err: TextIO

    @classmethod
    def standard(cls) -> Output:
        return cls(sys.stdout, sys.stderr)

    @property
    def rich(self) -> bool:
        return self.out.isatty() and os.environ.get("TERM") != "dumb"

    @property
    def color(self) -> bool:
        return self.rich and "NO_COLOR" not in os.environ

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def note(self, text: str) -> None:
        """A message for the person, on stderr, so stdout stays clean for scripts."""
        self.err.write(f"drmaa2: {printable(text)}\n")

    def json(self, document: dict[str, Any]) -> None:
        utf8 = codecs.lookup(getattr(self.out, "encoding", None) or "utf-8").name == "utf-8"
        # JSON must be UTF-8 (or ASCII, on a stream whose encoding is something else): a lone surrogate (a
        # byte that was not UTF-8) goes out as its \u escape, which json.loads turns back into the same
        # string, and os.fsencode into the same bytes.
        text = json.dumps({"schema_version": SCHEMA_VERSION, **document}, ensure_ascii=not utf8)
        self.out.write(_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")



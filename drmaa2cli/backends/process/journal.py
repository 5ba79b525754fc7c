"""An array shepherd's journal: one file, ``RUN/GROUP.journal``, that holds the start and exit records of every
task the shepherd runs, one JSON line each, instead of a ``.start`` and an ``.exit`` file per task.

Why: on a disk where creating and renaming a file costs milliseconds, four file operations per task were most
of what a 10,000-task array of ``true`` cost, and a kill of a held array wrote (and the CLI then read) one file
per never-started task. A journal is one file written in place and read in one go.

Format: lines ``{"task":"ID","start":{...}}`` and ``{"task":"ID","exit":{...}}``, each written whole with one
``pwrite`` by the shepherd, its only writer. The file is allocated ahead in zeros (``room``), so that a job
that fills the disk cannot cost its own exit record; a reader stops at the first zero byte, and ignores a last
line without its newline (a record being written). A task has at most one record of each kind.

Built-ins only, like the shepherd that imports it (``json`` is imported by the reader, which runs in the CLI).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Bytes allocated ahead per record the writer must be able to write whatever the disk does: a start record
#: is about 200 bytes, an exit record with a long annotation a few hundred.
RECORD_ROOM = 1024
#: Allocation step: a large array's journal grows this much at a time.
CHUNK = 256 * 1024


class Writer:
    """The shepherd's end of ``path``: a new file (an existing one, from a crash, is started afresh)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self.offset = 0  # where the next record goes
        self.end = 0  # bytes allocated

    def room(self, records: int) -> None:
        """Allocate the file so that ``records`` more records fit whatever happens to the disk meanwhile.
        Raises OSError (ENOSPC) when the disk has no room for them now."""
        need = self.offset + records * RECORD_ROOM
        if need > self.end:
            size = max(need, self.end + CHUNK)
            os.posix_fallocate(self.fd, self.end, size - self.end)
            self.end = size

    def append(self, line: bytes) -> None:
        """Write one record (a JSON object and its newline) after the last. Raises OSError."""
        view = memoryview(line)
        offset = self.offset
        while view:
            written = os.pwrite(self.fd, view, offset)
            view, offset = view[written:], offset + written
        self.offset = offset
        self.end = max(self.end, offset)


def read(path: str) -> dict[str, list[Any]] | None:
    """Each task's [start record, exit record] (None where there is none yet); None when there is no journal."""
    import json

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    records: dict[str, list[Any]] = {}
    lines = data.split(b"\0", 1)[0].split(b"\n")
    for line in lines[:-1]:  # the last is empty, or a record not yet written whole
        try:
            record = json.loads(line)
            task = record["task"]
        except (ValueError, KeyError, TypeError):
            continue
        slot = records.setdefault(task, [None, None])
        if "start" in record:
            slot[0] = record["start"]
        if "exit" in record:
            slot[1] = record["exit"]
    return records

"""The submits made under idempotency keys, kept in the home (``serve-submits.jsonl``, 0600) as well as in
memory, so that a client sending a submit again after the server was killed and started anew gets the job the
first one made, not a second job.

One line per submit that made jobs: the SHA-256 of the token's id and the key, the time, the HTTP status and
the jobs' ids (the answer is made again from the store, so a 10,000-task array costs one line of ids, not its
document). A line is appended right after the store recorded the jobs and before the client is answered; a
server killed between the two leaves a job whose key is not kept (a window of one write). The file is read
and compacted when the server starts: lines older than the limit, beyond the number kept, or torn by a kill
in the middle of a write are dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import OrderedDict
from pathlib import Path

from ..errors import StoreError
from ..files import ensure_private_dir, write_atomically

NAME = "serve-submits.jsonl"


def digest(token_id: str, key: str) -> str:
    return hashlib.sha256(f"{token_id}\0{key}".encode()).hexdigest()


class Journal:
    """The kept submits of the home ``home``: at most ``most``, none older than ``seconds``."""

    def __init__(self, home: Path, seconds: float, most: int) -> None:
        self.home, self.path, self.seconds, self.most = home, home / NAME, seconds, most
        self.entries: OrderedDict[str, tuple[float, int, list[str]]] = OrderedDict()
        self.fd: int | None = None

    def _open(self) -> int:
        """The file, read and compacted at the first use (an application made and never served touches no
        file)."""
        if self.fd is not None:
            return self.fd
        home = self.home
        try:
            ensure_private_dir(home)
            self._load()
            write_atomically(self.path, b"".join(self._line(k, *v) for k, v in self.entries.items()))
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise StoreError(f"cannot keep the idempotency keys in {self.path}: {e.strerror}") from None
        return self.fd

    def _load(self) -> None:
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return
        oldest = time.time() - self.seconds
        for line in text.splitlines():
            try:
                found = json.loads(line)
                entry = (float(found["t"]), int(found["s"]), [str(i) for i in found["ids"]])
                key = str(found["k"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill, or not ours
            if entry[0] >= oldest:
                self.entries[key] = entry
                self.entries.move_to_end(key)
        while len(self.entries) > self.most:
            self.entries.popitem(last=False)

    @staticmethod
    def _line(key: str, when: float, status: int, ids: list[str]) -> bytes:
        return (json.dumps({"k": key, "t": when, "s": status, "ids": ids}) + "\n").encode()

    def get(self, token_id: str, key: str) -> tuple[int, list[str]] | None:
        """The status and job ids of the submit made under ``key``, if it is kept."""
        self._open()
        found = self.entries.get(digest(token_id, key))
        if found is None or found[0] < time.time() - self.seconds:
            return None
        return found[1], found[2]

    def add(self, token_id: str, key: str, status: int, ids: list[str]) -> None:
        """Keep the submit made under ``key`` (one write of one line: whole, or torn and dropped later). The
        file is opened at the first use (StoreError if it cannot be); a failed write is let pass."""
        fd = self._open()
        entry = (time.time(), status, ids)
        self.entries[digest(token_id, key)] = entry
        while len(self.entries) > self.most:
            self.entries.popitem(last=False)
        # A failed write (a full disk) is let pass: the jobs exist and the answer is remembered in memory, and
        # failing the submit now would make the client send it again, a second job; a restart forgets the key.
        with contextlib.suppress(OSError):
            os.write(fd, self._line(digest(token_id, key), *entry))

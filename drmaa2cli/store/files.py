"""The store's files: their names, the atomic write and checked read of one file, TinyDB's storage over it, and
where a home keeps them (``Layout``)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from ..errors import StoreError
from ..files import write_atomically
from ..models import SCHEMA_VERSION
from .check import problem

LIVE_FILE = "jobs.json"
ARCHIVE_DIR = "archive"
LOCK_FILE = "lock"
#: Job records that failed their check when read, moved out of the store files by the next write.
QUARANTINE_FILE = "quarantine.json"
SHARD_SIZE = 1000
# Finished records leave the live file in batches, so that most submits rewrite only a few kB.
ARCHIVE_BATCH = 32
# What ``atomic_write`` leaves behind when its process is killed before the rename (``files.temp_name``).
TEMP_FILE = re.compile(r"\.(?:jobs|\d+)\.json\.\d+\.tmp\Z", re.ASCII)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (``files.write_atomically``: temp file 0600, fsync, rename); raises
    StoreError."""
    try:
        write_atomically(path, data)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e.strerror}") from None


def read_json_file(path: Path, damaged: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The parsed file, None if it does not exist; a broken or foreign file raises StoreError, naming it,
    and is never overwritten. ``damaged``: when given, a job record that fails its check does not make the file
    damaged: it is left out of what is returned and added to ``damaged`` (``{"file", "key", "problem",
    "record"}``), for the writer to move to the quarantine file; without it, the file is damaged."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
            st = os.fstat(f.fileno())
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreError(f"cannot read job store {path}: {e.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise StoreError(
            f"job store {path} is not valid JSON ({e}); it was left untouched: move it aside to start afresh"
        ) from None
    meta_table = data.get("_meta") if isinstance(data, dict) else None
    meta = meta_table.get("1") if isinstance(meta_table, dict) else None
    if not isinstance(meta, dict) or "schema_version" not in meta:
        raise StoreError(f"{path} is not a drmaa2 job store; it was left untouched")
    version = meta["schema_version"]
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise StoreError(
            f"job store {path} has schema version {version}, newer than this drmaa2 understands ({SCHEMA_VERSION})"
        )
    # A file once found sound is not checked again while it is the same file: every write replaces a file
    # (a new inode), and `rm --finished` reads each archive shard twice, a listing and then the transaction.
    seen = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    if seen in _SOUND:
        return data  # type: ignore[no-any-return]
    bad: dict[str, str] | None = None if damaged is None else {}
    damage = "its schema version is not a number" if not isinstance(version, int) else problem(
        data, live=path.name == LIVE_FILE, bad=bad
    )
    if damage is not None:
        raise StoreError(
            f"job store {path} is damaged: {damage}; it was left untouched: move it aside to start afresh"
        )
    if bad:
        assert damaged is not None
        jobs = data["jobs"]
        damaged += [{"file": str(path), "key": key, "problem": why, "record": jobs.pop(key)}
                    for key, why in bad.items()]
        return data  # type: ignore[no-any-return]
    if len(_SOUND) > 4096:
        _SOUND.clear()
    _SOUND.add(seen)
    return data  # type: ignore[no-any-return]


#: The files ``read_json_file`` found sound in this process: (path, inode, mtime ns, size).
_SOUND: set[tuple[str, int, int, int]] = set()


def write_sound(path: Path, data: dict[str, Any]) -> None:
    """``atomic_write`` of a store file made of records that were checked when read or created, remembered as
    sound: a command that writes an array's 5,000 tasks and reads them again (a kill, then the tasks' new
    states) does not check them again."""
    atomic_write(path, json.dumps(data, separators=(",", ":")).encode())
    try:
        st = os.stat(path)
    except OSError:
        return
    if len(_SOUND) > 4096:
        _SOUND.clear()
    _SOUND.add((str(path), st.st_ino, st.st_mtime_ns, st.st_size))


class FileStorage(Storage):
    """TinyDB storage for one of our files: read once per transaction, written once on ``flush``."""

    def __init__(self, path: str, initial: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self._data: dict[str, Any] | None = initial
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        if self._data is None:
            self._data = read_json_file(self.path)
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self.dirty = True

    def flush(self) -> None:
        if self.dirty and self._data is not None:
            write_sound(self.path, self._data)
            self.dirty = False


def open_db(path: Path, initial: dict[str, Any] | None = None) -> tuple[TinyDB, FileStorage]:
    db = TinyDB(str(path), storage=FileStorage, initial=initial)
    storage = db.storage
    assert isinstance(storage, FileStorage)
    return db, storage


def new_file(instance: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    if instance is not None:
        meta.update(next_job=1, instance=instance, archived={}, created=time.time())
    return {"_meta": {"1": meta}}


def replace_with(record: dict[str, Any]) -> Any:
    """A TinyDB update that makes a document ``record`` (every other field dropped)."""

    def apply(doc: dict[str, Any]) -> None:
        doc.clear()
        doc.update(record)

    return apply


def shard_of(number: int) -> int:
    return number // SHARD_SIZE


class Layout:
    """Where the store of the drmaa2 home ``home`` keeps its files, and who hears of a damaged record
    (``warn``, one line each; None: nobody)."""

    def __init__(self, home: Path, warn: Callable[[str], None] | None = None) -> None:
        self.home = home
        self.live_path = home / LIVE_FILE
        self.archive_dir = home / ARCHIVE_DIR
        self.quarantine_path = home / QUARANTINE_FILE
        self.arrays_dir = home / "arrays"  # ``arrays.ARRAYS_DIR``
        self.warn = warn

    def shard_path(self, shard: int) -> Path:
        return self.archive_dir / f"{shard:06d}.json"

    def array_path(self, number: int) -> Path:
        return self.arrays_dir / f"{number}.json"

    def repair(self, files: set[str]) -> bool:
        """Move the damaged records of ``files`` to quarantine now, if the store is free; False if it was not
        (a later write does it)."""
        return False

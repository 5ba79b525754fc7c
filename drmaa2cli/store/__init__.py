"""The job store: TinyDB JSON files under the drmaa2 home, safe for many concurrent drmaa2 processes.

Layout (dir 0700, files 0600)::

    jobs.json            live store: meta (schema_version, next job number, instance id, the live arrays),
                         sessions, and the records of active single jobs plus finished ones not yet archived.
                         Every submit rewrites it, so it is kept small.
    arrays/N.json        the tasks of array N, by task index, for the array's life (``arrays``): a command reads
                         an array's file only when it touches that array
    archive/NNNNNN.json  finished records, job numbers N*1000 .. N*1000+999 (TinyDB files too)
    lock                 flock: writers exclusive; readers take no lock

Writers hold the lock for one read-modify-write, and every file is replaced atomically (temp file, fsync,
rename), so a process killed at any moment leaves either the old or the new file. Archive shards and arrays'
files are written before the live file, and readers read the live file before them: a job being archived is
then seen twice (deduplicated) but never missed.

The package: ``files`` (names, atomic writes, checked reads, the layout of a home), ``check`` (the shape of a
store file), ``reader`` (reads and snapshots), ``transaction`` (changes); ``Store`` here ties them together.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from ..errors import StoreError
from ..files import ensure_private_dir
from .files import (
    ARCHIVE_BATCH,
    ARCHIVE_DIR,
    LIVE_FILE,
    LOCK_FILE,
    SHARD_SIZE,
    TEMP_FILE,
    Layout,
    atomic_write,
    read_json_file,
    shard_of,
)
from .reader import Snapshot
from .transaction import Transaction

__all__ = ["ARCHIVE_BATCH", "ARCHIVE_DIR", "LIVE_FILE", "LOCK_FILE", "SHARD_SIZE", "Snapshot", "Store",
           "Transaction", "atomic_write", "read_json_file", "shard_of"]


class Store(Layout):
    """The job store of one drmaa2 home. Use ``transaction()`` to change it and ``snapshot()`` to read."""

    @contextlib.contextmanager
    def transaction(self, wait: bool = True) -> Iterator[Transaction]:
        """Exclusive read-modify-write of the store; nothing is written if the body raises. ``wait`` False:
        raise BlockingIOError at once when another process holds the store."""
        ensure_private_dir(self.home)
        try:
            lock_fd = os.open(self.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StoreError(f"cannot open {self.home / LOCK_FILE}: {e.strerror}") from None
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._remove_stale_temp_files()
            txn = Transaction(self)
            yield txn
            txn.commit()
        finally:
            os.close(lock_fd)  # closing releases the flock

    def _remove_stale_temp_files(self) -> None:
        """Temp files of writers killed before their rename. Only lock holders write store files, so under
        the lock every such file is stale; without this each crash would leave a copy of the store behind."""
        for directory in (self.home, self.archive_dir, self.arrays_dir):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                if TEMP_FILE.match(name):
                    with contextlib.suppress(OSError):
                        os.unlink(directory / name)

    def repair(self, files: set[str]) -> bool:
        try:
            with self.transaction(wait=False) as txn:
                for path in files - {str(self.live_path)}:  # the live file: the transaction read it
                    txn.read_file(path)
        except BlockingIOError:
            return False  # held, perhaps by this very process: the next write moves them
        return True

    def snapshot(self) -> Snapshot:
        """A lock-free, consistent view (files are only ever replaced whole)."""
        return Snapshot(self)

    def instance(self) -> str:
        """The random id of this home, created with the store."""
        data = read_json_file(self.live_path)
        if data is None:
            with self.transaction() as txn:
                return str(txn.meta_doc()["instance"])
        return data["_meta"]["1"]["instance"]  # type: ignore[no-any-return]

"""The job store: TinyDB JSON files under the drmaa2 home, safe for many concurrent drmaa2 processes.

Layout (dir 0700, files 0600)::

    jobs.json            live store: meta (schema_version, next job number, instance id), sessions, and the
                         records of active jobs plus finished ones not yet archived. Every submit rewrites it,
                         so it is kept small.
    archive/NNNNNN.json  finished records, job numbers N*1000 .. N*1000+999 (TinyDB files too)
    lock                 flock: writers exclusive; readers take no lock

Writers hold the lock for one read-modify-write, and every file is replaced atomically (temp file, fsync,
rename), so a process killed at any moment leaves either the old or the new file. Archive shards are written
before the live file, and readers read the live file before the shards: a job being archived is then seen
twice (deduplicated) but never missed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .errors import JobNotFound, StoreError
from .files import ensure_private_dir, write_atomically
from .models import SCHEMA_VERSION, JobInfo, JobState
from .store_check import problem

LIVE_FILE = "jobs.json"
ARCHIVE_DIR = "archive"
LOCK_FILE = "lock"
SHARD_SIZE = 1000
# Finished records leave the live file in batches, so that most submits rewrite only a few kB.
ARCHIVE_BATCH = 32
# What ``atomic_write`` leaves behind when its process is killed before the rename (``files.temp_name``).
_TEMP_FILE = re.compile(r"\.(?:jobs|\d{6})\.json\.\d+\.tmp\Z", re.ASCII)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (``files.write_atomically``: temp file 0600, fsync, rename); raises
    StoreError."""
    try:
        write_atomically(path, data)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e.strerror}") from None


def read_json_file(path: Path) -> dict[str, Any] | None:
    """The parsed file, None if it does not exist; a broken or foreign file raises StoreError, naming it,
    and is never overwritten."""
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
    damage = "its schema version is not a number" if not isinstance(version, int) else problem(
        data, live=path.name == LIVE_FILE
    )
    if damage is not None:
        raise StoreError(
            f"job store {path} is damaged: {damage}; it was left untouched: move it aside to start afresh"
        )
    if len(_SOUND) > 4096:
        _SOUND.clear()
    _SOUND.add(seen)
    return data  # type: ignore[no-any-return]


#: The files ``read_json_file`` found sound in this process: (path, inode, mtime ns, size).
_SOUND: set[tuple[str, int, int, int]] = set()


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
            atomic_write(self.path, json.dumps(self._data, separators=(",", ":")).encode())
            self.dirty = False


def _open_db(path: Path, initial: dict[str, Any] | None = None) -> tuple[TinyDB, FileStorage]:
    db = TinyDB(str(path), storage=FileStorage, initial=initial)
    storage = db.storage
    assert isinstance(storage, FileStorage)
    return db, storage


def _new_file(instance: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    if instance is not None:
        meta.update(next_job=1, instance=instance, archived={}, created=time.time())
    return {"_meta": {"1": meta}}


def _replace_with(record: dict[str, Any]) -> Any:
    """A TinyDB update that makes a document ``record`` (every other field dropped)."""

    def apply(doc: dict[str, Any]) -> None:
        doc.clear()
        doc.update(record)

    return apply


def shard_of(number: int) -> int:
    return number // SHARD_SIZE


class Store:
    """The job store of one drmaa2 home. Use ``transaction()`` to change it and ``snapshot()`` to read."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.live_path = home / LIVE_FILE
        self.archive_dir = home / ARCHIVE_DIR

    def shard_path(self, shard: int) -> Path:
        return self.archive_dir / f"{shard:06d}.json"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Exclusive read-modify-write of the store; nothing is written if the body raises."""
        ensure_private_dir(self.home)
        try:
            lock_fd = os.open(self.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StoreError(f"cannot open {self.home / LOCK_FILE}: {e.strerror}") from None
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            self._remove_stale_temp_files()
            txn = Transaction(self)
            yield txn
            txn.commit()
        finally:
            os.close(lock_fd)  # closing releases the flock

    def _remove_stale_temp_files(self) -> None:
        """Temp files of writers killed before their rename. Only lock holders write store files, so under
        the lock every such file is stale; without this each crash would leave a copy of the store behind."""
        for directory in (self.home, self.archive_dir):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                if _TEMP_FILE.match(name):
                    with contextlib.suppress(OSError):
                        os.unlink(directory / name)

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


class _Reader:
    """What transactions and snapshots share: reading live records and archive shards."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._shards: dict[int, tuple[TinyDB, FileStorage]] = {}

    def _live_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def shard(self, number: int) -> Table:
        key = shard_of(number)
        if key not in self._shards:
            path = self.store.shard_path(key)
            self._shards[key] = _open_db(path, read_json_file(path) or _new_file())
        return self._shards[key][0].table("jobs")

    def shard_numbers(self) -> list[int]:
        try:
            names = os.listdir(self.store.archive_dir)
        except FileNotFoundError:
            return []
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def live_records(self) -> Iterable[dict[str, Any]]:
        return self._live_data().get("jobs", {}).values()  # type: ignore[no-any-return]

    def meta_doc(self) -> dict[str, Any]:
        return self._live_data()["_meta"]["1"]  # type: ignore[no-any-return]

    def session_names(self) -> list[str]:
        names = {doc["name"] for doc in self._live_data().get("sessions", {}).values()}
        return sorted(names | {"default"})

    def session_contact(self, name: str) -> str | None:
        """The contact session ``name`` was created with (the binding's backend choice), or None."""
        for doc in self._live_data().get("sessions", {}).values():
            if doc.get("name") == name and isinstance(doc.get("contact"), str):
                return str(doc["contact"])
        return None

    def find(self, job_id: str) -> JobInfo | None:
        """The record of ``job_id`` (live first, then its archive shard), or None."""
        for rec in self.live_records():
            if rec["id"] == job_id:
                return JobInfo.from_record(rec)
        try:
            number = int(job_id.split(".", 1)[0])
        except ValueError:
            return None
        if shard_of(number) not in self.shard_numbers():
            return None
        for doc in self.shard(number).all():
            if doc["id"] == job_id:
                return JobInfo.from_record(doc)
        return None

    def get(self, job_id: str) -> JobInfo:
        info = self.find(job_id)
        if info is None:
            raise JobNotFound(f"unknown job id {job_id}")
        return info

    def tasks(self, number: int) -> list[JobInfo]:
        """Every record whose job number is ``number`` (one job, or an array's tasks)."""
        prefix = f"{number}."
        found = {
            r["id"]: r for r in self.live_records() if r["id"] == str(number) or r["id"].startswith(prefix)
        }
        if shard_of(number) in self.shard_numbers():
            for doc in self.shard(number).all():
                if doc["id"] == str(number) or doc["id"].startswith(prefix):
                    found.setdefault(doc["id"], doc)
        return [JobInfo.from_record(r) for r in found.values()]

    def archived_records(self, newest_first: bool = True) -> Iterator[dict[str, Any]]:
        """Archived records shard by shard, newest shard first by default."""
        numbers = self.shard_numbers()
        for key in reversed(numbers) if newest_first else numbers:
            path = self.store.shard_path(key)
            data = read_json_file(path) or {}
            records = list(data.get("jobs", {}).values())
            if newest_first:
                records.reverse()
            yield from records


class Snapshot(_Reader):
    """Read-only view taken without the lock."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._live = read_json_file(store.live_path) or _new_file("?")

    def _live_data(self) -> dict[str, Any]:
        return self._live


class Transaction(_Reader):
    """One locked read-modify-write. Records are JobInfo objects; ids are allocated here only."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        data = read_json_file(store.live_path)
        self.db, self.storage = _open_db(store.live_path, data or _new_file(os.urandom(4).hex()))
        if data is None:
            self.storage.dirty = True
        self.jobs = self.db.table("jobs")
        self._doc_ids: dict[str, int] | None = None

    def _live_data(self) -> dict[str, Any]:
        data = self.storage.read()
        assert data is not None
        return data

    def _set_meta(self, **changes: Any) -> None:
        self.db.table("_meta").update(changes, doc_ids=[1])

    def allocate(self) -> int:
        """A new job number, never given before in this home."""
        number = int(self.meta_doc()["next_job"])
        self._set_meta(next_job=number + 1)
        return number

    def _index(self) -> dict[str, int]:
        if self._doc_ids is None:
            self._doc_ids = {doc["id"]: doc.doc_id for doc in self.jobs.all()}
        return self._doc_ids

    def put(self, info: JobInfo, create: bool = True) -> None:
        """Insert or update a live record. A record already final in the store is never changed, and with
        ``create=False`` a record that is gone (archived or removed meanwhile) is not brought back."""
        self.put_many([info], create)

    def put_many(self, infos: Sequence[JobInfo], create: bool = True) -> None:
        """``put`` for many records (an array's tasks, a refresh of many jobs). TinyDB rewrites its whole table
        on every insert and update, so record by record costs O(n) each: a refresh of a 1000-task array took
        ~1 s. Here the updates are applied in one pass and the inserts in another."""
        index = self._index()
        updates: dict[str, dict[str, Any]] = {}
        replaced: dict[str, dict[str, Any]] = {}
        new: dict[str, JobInfo] = {}
        for info in infos:
            doc_id = index.get(info.id)
            if doc_id is None:
                if create:
                    new[info.id] = info
                continue
            current = self.jobs.get(doc_id=doc_id)
            if not isinstance(current, dict) or JobState(current["state"]).final:
                continue
            record = info.to_record()
            # Attempts (``retries.py``): a copy of an earlier attempt (a `wait` that read the job before its
            # retry) never writes over the later one, and a new attempt replaces the record whole -- the old
            # attempt's times and exit status must not linger in it -- unless drmaa2 kill asked for its end.
            stored_attempts = len(current.get("attempts") or ())
            if info.attempt - 1 < stored_attempts:
                continue
            if info.attempt - 1 > stored_attempts:
                if "terminate_requested" not in (current.get("backend_data") or {}):
                    replaced[info.id] = record
                continue
            # drmaa2's own kill request (Service._mark_terminated) outlives a write from a copy of the job
            # read before it (a `wait` in another shell), or that copy would end it as "cancelled by someone".
            stored = current.get("backend_data") if isinstance(current, dict) else None
            if isinstance(stored, dict) and "terminate_requested" in stored:
                data = record.setdefault("backend_data", {})
                data.setdefault("terminate_requested", stored["terminate_requested"])
            updates[info.id] = record
        if updates:

            def apply(doc: Any) -> None:  # called by TinyDB for each record, inside one rewrite of the table
                doc.update(updates[doc["id"]])

            self.jobs.update(apply, doc_ids=[index[job_id] for job_id in updates])
        for job_id, record in replaced.items():
            self.jobs.update(_replace_with(record), doc_ids=[index[job_id]])
        if new:
            doc_ids = self.jobs.insert_multiple(info.to_record() for info in new.values())
            for job_id, doc_id in zip(new, doc_ids, strict=True):
                index[job_id] = doc_id

    def revive(self, info: JobInfo) -> None:
        """Write ``info``, a new attempt of a job (``drmaa2 requeue``), over its record whatever that holds:
        live or archived, ended or not."""
        self.remove([info.id])
        self.put_many([info])

    def clear(self, job_id: str, key: str) -> None:
        """Remove one field of a live record (``put`` merges, so a field set to None would stay as it was)."""
        doc_id = self._index().get(job_id)
        if doc_id is not None:
            self.jobs.update(lambda doc: doc.pop(key, None), doc_ids=[doc_id])

    def set_meta(self, **changes: Any) -> None:
        """Change entries of the live file's meta document (the next job number and instance are kept)."""
        self._set_meta(**changes)

    def add_session(self, name: str, contact: str | None = None) -> bool:
        """Record a session (with the contact it was created with, if any); False if it exists."""
        if name in self.session_names():
            return False
        doc: dict[str, Any] = {"name": name, "created": time.time()}
        if contact:
            doc["contact"] = contact
        self.db.table("sessions").insert(doc)
        return True

    def remove_session(self, name: str) -> None:
        from tinydb import where

        self.db.table("sessions").remove(where("name") == name)

    def remove(self, job_ids: Iterable[str]) -> int:
        """Delete records (live or archived); returns how many were removed."""
        wanted = set(job_ids)
        index = self._index()
        live = [index.pop(i) for i in list(wanted) if i in index]
        removed = len(live)
        if live:
            self.jobs.remove(doc_ids=live)
        rest = wanted - set(self._index())
        by_shard: dict[int, set[str]] = {}
        for job_id in rest:
            with contextlib.suppress(ValueError):
                by_shard.setdefault(shard_of(int(job_id.split(".", 1)[0])), set()).add(job_id)
        archived = self.meta_doc().setdefault("archived", {})
        for key, ids in by_shard.items():
            if key not in self.shard_numbers():
                continue
            table = self.shard(key * SHARD_SIZE)
            docs = [d for d in table.all() if d["id"] in ids]
            for doc in docs:
                counts = archived.get(doc["session"], {})
                counts[doc["state"]] = max(0, counts.get(doc["state"], 0) - 1)
            if docs:
                table.remove(doc_ids=[d.doc_id for d in docs])
                removed += len(docs)
        if by_shard:
            self._set_meta(archived=archived)
        return removed

    def _archive_finished(self) -> None:
        finished = [d for d in self.jobs.all() if JobState(d["state"]).final]
        if len(finished) < ARCHIVE_BATCH:
            return
        archived = self.meta_doc().setdefault("archived", {})
        by_shard: dict[int, list[dict[str, Any]]] = {}
        for doc in finished:
            by_shard.setdefault(shard_of(int(doc["id"].split(".", 1)[0])), []).append(dict(doc))
            counts = archived.setdefault(doc["session"], {})
            counts[doc["state"]] = counts.get(doc["state"], 0) + 1
        for key, docs in by_shard.items():
            table = self.shard(key * SHARD_SIZE)
            # A writer killed between its shard write and its live write left some of these in the shard
            # already: replace them there instead of adding a second copy. (The counts live in the live file,
            # which never saw that move, so they are added either way.)
            present = {d["id"]: d.doc_id for d in table.all()}
            for record in docs:
                if record["id"] in present:
                    table.update(record, doc_ids=[present[record["id"]]])
            # One insert per shard: TinyDB rebuilds the whole table on every insert, so inserting the batch
            # record by record cost O(batch x shard size), ~10 ms per archiving write with a full shard.
            table.insert_multiple([d for d in docs if d["id"] not in present])
        self.jobs.remove(doc_ids=[d.doc_id for d in finished])
        self._doc_ids = None
        self._set_meta(archived=archived)

    def commit(self) -> None:
        self._archive_finished()
        if any(storage.dirty for _, storage in self._shards.values()):
            ensure_private_dir(self.store.archive_dir)
        # Shards first: a reader that sees the new live file must find the moved records in the archive.
        for _, storage in self._shards.values():
            storage.flush()
        self.storage.flush()

"""Changing the store: one locked read-modify-write (``Transaction``)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..files import ensure_private_dir
from ..models import JobInfo, JobState
from .arrays import LIVE_ARRAYS, ArrayFile, add_counts, counts, key_of, number_of
from .files import ARCHIVE_BATCH, SHARD_SIZE, Layout, new_file, open_db, replace_with, shard_of
from .merge import checked, merged, put_tasks
from .reader import Reader


class Transaction(Reader):
    """One locked read-modify-write. Records are JobInfo objects; ids are allocated here only."""

    _moves_damage = True

    def __init__(self, store: Layout) -> None:
        super().__init__(store)
        data = self._read(store.live_path)
        self.db, self.storage = open_db(store.live_path, data or new_file(os.urandom(4).hex()))
        if data is None:
            self.storage.dirty = True
        self.jobs = self.db.table("jobs")
        self._doc_ids: dict[str, int] | None = None
        self._migrate()

    def _migrate(self) -> None:
        """Move the array tasks that a store written before arrays had files of their own keeps in its live
        file into their arrays' files (once: the first write of such a store)."""
        old = [(int(doc_id), r) for doc_id, r in self.single_records_by_key() if "." in r["id"]]
        if not old:
            return
        for _, record in old:
            number = number_of(record["id"])
            array = self.array(number, create=True) if number is not None else None
            if array is not None:
                array.jobs.setdefault(key_of(record["id"]), record)
                array.dirty = True
        self.jobs.remove(doc_ids=[doc_id for doc_id, _ in old])
        self._doc_ids = None

    def single_records_by_key(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._live_data().get("jobs", {}).items())

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
        # An array's file is written before the live file: a process killed between the two left a file of a
        # number never given (the live file's next job did not move on). It is nobody's: gone before reuse.
        self._arrays.pop(number, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.store.array_path(number))
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
        """``put`` for many records (an array's tasks, a refresh of many jobs). Tasks go to their array's file,
        found by index. TinyDB rewrites its whole table on every insert and update, so record by record costs
        O(n) each: the single jobs' updates are applied in one pass and the inserts in another (``merge.merged``
        says what a write does to a stored record)."""
        singles: list[JobInfo] = []
        tasks: dict[int, list[JobInfo]] = {}
        for info in infos:
            number = number_of(info.id)
            if number is None:
                singles.append(info)
            else:
                tasks.setdefault(number, []).append(info)
        if singles:
            self._put_singles(singles, create)
        for number, group in tasks.items():
            array = self.array(number, create=create)
            if array is not None:
                put_tasks(array, group, create)

    def _put_singles(self, infos: Sequence[JobInfo], create: bool) -> None:
        index = self._index()
        updates: dict[str, dict[str, Any]] = {}
        replaced: dict[str, dict[str, Any]] = {}
        new: dict[str, JobInfo] = {}
        cleared: set[str] = set()
        for info in infos:
            doc_id = index.get(info.id)
            if doc_id is None:
                if create:
                    new[info.id] = info
                continue
            current = self.jobs.get(doc_id=doc_id)
            change = merged(current, info, info.to_record()) if isinstance(current, dict) else None
            if change is None:
                continue
            record, whole, clear = change
            if whole:
                replaced[info.id] = record
                continue
            updates[info.id] = record
            if clear:
                cleared.add(info.id)
        if updates:

            def apply(doc: Any) -> None:  # called by TinyDB for each record, inside one rewrite of the table
                doc.update(updates[doc["id"]])
                if doc["id"] in cleared:
                    doc.pop("annotation", None)

            self.jobs.update(apply, doc_ids=[index[job_id] for job_id in updates])
        for job_id, record in replaced.items():
            self.jobs.update(replace_with(record), doc_ids=[index[job_id]])
        if new:
            records = checked(list(new.values()))
            doc_ids = self.jobs.insert_multiple(records)
            for job_id, doc_id in zip(new, doc_ids, strict=True):
                index[job_id] = doc_id

    def revive(self, info: JobInfo) -> None:
        """Write ``info``, a new attempt of a job (``drmaa2 requeue``), over its record whatever that holds:
        live or archived, ended or not."""
        self.remove([info.id])
        self.put_many([info])

    def clear(self, job_id: str, key: str) -> None:
        """Remove one field of a live record (``put`` merges, so a field set to None would stay as it was)."""
        number = number_of(job_id)
        array = None if number is None else self.array(number)
        record = None if array is None else array.get(job_id)
        if array is not None and record is not None:
            record.pop(key, None)
            array.dirty = True
            return
        doc_id = self._index().get(job_id)
        if doc_id is not None:
            self.jobs.update(lambda doc: doc.pop(key, None), doc_ids=[doc_id])

    def set_data(self, job_ids: Iterable[str], key: str, value: Any) -> None:
        """Set ``backend_data[key]`` in the records of ``job_ids`` that have not ended (drmaa2 kill's mark),
        in the records themselves: no JobInfo of 5,000 tasks read and written back."""
        singles = set()
        for job_id in job_ids:
            number = number_of(job_id)
            array = None if number is None else self.array(number)
            record = None if array is None else array.get(job_id)
            if array is None or record is None:
                singles.add(job_id)
            elif not JobState(record["state"]).final:
                record["backend_data"] = {**(record.get("backend_data") or {}), key: value}
                array.dirty = True
        index = self._index()
        doc_ids = [index[i] for i in singles if i in index]

        def apply(doc: Any) -> None:
            if not JobState(doc["state"]).final:
                doc["backend_data"] = {**(doc.get("backend_data") or {}), key: value}

        if doc_ids:
            self.jobs.update(apply, doc_ids=doc_ids)

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
        removed = 0
        for job_id in list(wanted):
            number = number_of(job_id)
            array = None if number is None else self.array(number)
            if array is not None and array.get(job_id) is not None:
                del array.jobs[key_of(job_id)]  # its counts, archived or not, are settled at the commit
                array.dirty = True
                removed += 1
                wanted.discard(job_id)
        index = self._index()
        live = [index.pop(i) for i in list(wanted) if i in index]
        removed += len(live)
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
        if self.damaged:
            self._quarantine()
        self._archive_finished()
        arrays = [a for a in self._arrays.values() if a is not None and a.dirty]
        self._settle_arrays(arrays)
        if any(storage.dirty for _, storage in self._shards.values()):
            ensure_private_dir(self.store.archive_dir)
        if any(a.jobs for a in arrays):
            ensure_private_dir(self.store.arrays_dir)
        # Shards and arrays first: a reader that sees the new live file must find the records it points to.
        for _, storage in self._shards.values():
            storage.flush()
        for array in arrays:
            array.flush()
        self.storage.flush()
        for array in arrays:
            if not array.jobs and array.existed:  # every task removed: the live file no longer names it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(array.path)

    def _settle_arrays(self, arrays: Sequence[ArrayFile]) -> None:
        """List the changed arrays with a task not ended as live, and count the others' records as archived
        (the archive shards' records are counted the same way): an archived array's old counts are taken back
        first, so that a task requeued, removed or moved to quarantine is counted once."""
        live = self.live_arrays()
        listed = set(live)
        archived = self.meta_doc().setdefault("archived", {})
        changed = False
        for array in arrays:
            if not array.was_live:
                add_counts(archived, array.counted, -1)
                changed = changed or bool(array.counted)
            if array.active():
                listed.add(array.number)
            else:
                listed.discard(array.number)
                add_counts(archived, counts(array.jobs.values()), 1)
                changed = changed or bool(array.jobs)
        if changed or listed != set(live):
            self._set_meta(**{LIVE_ARRAYS: sorted(listed), "archived": archived})

    def _quarantine(self) -> None:
        """Move the damaged records read to the quarantine file, then rewrite their files without them (the
        quarantine first: a write killed in between leaves a record in both places, never in neither)."""
        from . import quarantine  # only when a record is damaged

        quarantine.keep(self.store, self.damaged)
        for path in {entry["file"] for entry in self.damaged}:
            if path == str(self.store.live_path):
                self.storage.dirty = True
                continue
            self.read_file(path, dirty=True)

    def read_file(self, path: str, dirty: bool = False) -> None:
        """Read the store file ``path`` (an archive shard or an array's file) in this transaction; ``dirty``:
        write it back at the commit."""
        number = int(path.rsplit("/", 1)[-1].split(".", 1)[0])
        if path.rsplit("/", 2)[-2] == self.store.arrays_dir.name:
            array = self.array(number)
            if array is not None and dirty:
                array.dirty = True
            return
        self.shard(number * SHARD_SIZE)
        if dirty:
            self._shards[number][1].dirty = True

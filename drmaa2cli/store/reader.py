"""Reading the store: live records, arrays' files and archive shards (``Reader``), and the lock-free
``Snapshot``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

from ..errors import JobNotFound
from ..models import JobInfo
from .arrays import LIVE_ARRAYS, ArrayFile, infos, number_of
from .files import SHARD_SIZE, FileStorage, Layout, new_file, open_db, read_json_file, shard_of


class Reader:
    """What transactions and snapshots share: reading live records and archive shards."""

    def __init__(self, store: Layout) -> None:
        self.store = store
        self._shards: dict[int, tuple[TinyDB, FileStorage]] = {}
        self._arrays: dict[int, ArrayFile | None] = {}
        #: Records that failed their check in the files read (``quarantine``), left out of every answer.
        self.damaged: list[dict[str, Any]] = []

    def _read(self, path: Path) -> dict[str, Any] | None:
        before = len(self.damaged)
        data = read_json_file(path, self.damaged)
        if len(self.damaged) > before:
            found = self.damaged[before:]
            # A reader takes no lock; it asks the store to move what it found, and leaves that to the next
            # write when another process holds the lock.
            moved = self._moves_damage or self.store.repair({e["file"] for e in found})
            from . import quarantine  # only when a record is damaged

            quarantine.report(self.store, found, moved=moved)
        return data

    #: Whether the damaged records read are moved to quarantine at the end (a transaction) or only left out.
    _moves_damage = False

    def _live_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def shard(self, number: int) -> Table:
        key = shard_of(number)
        if key not in self._shards:
            path = self.store.shard_path(key)
            self._shards[key] = open_db(path, self._read(path) or new_file())
        return self._shards[key][0].table("jobs")

    def shard_numbers(self) -> list[int]:
        try:
            names = os.listdir(self.store.archive_dir)
        except FileNotFoundError:
            return []
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def live_records(self) -> Iterable[dict[str, Any]]:
        """Every live record: the single jobs of the live file, then the tasks of each live array (each
        array's file read)."""
        yield from self.single_records()
        for number in self.live_arrays():
            array = self.array(number)
            if array is not None:
                yield from array.jobs.values()

    def single_records(self) -> Iterable[dict[str, Any]]:
        """The records of the live file itself: single jobs (and, in a store not yet migrated, array tasks)."""
        return self._live_data().get("jobs", {}).values()  # type: ignore[no-any-return]

    def live_arrays(self) -> list[int]:
        """The numbers of the arrays with a task not ended, oldest first."""
        return list(self.meta_doc().get(LIVE_ARRAYS, ()))

    def array(self, number: int, create: bool = False) -> ArrayFile | None:
        """The file of array ``number``, read once; None when it has none (unless ``create``)."""
        found = self._arrays.get(number)
        if found is None and (create or number not in self._arrays):
            path = self.store.array_path(number)
            data = self._read(path)
            found = None if data is None and not create else ArrayFile(
                path, number, data, was_live=number in self.live_arrays())
            self._arrays[number] = found
        return found

    def archived_arrays(self) -> list[int]:
        """The numbers of the arrays whose file is kept but that have no task left to end, oldest first."""
        try:
            names = os.listdir(self.store.arrays_dir)
        except FileNotFoundError:
            return []
        live = set(self.live_arrays())
        # A number from the live file's next job on is not given yet: its file is a writer's that has not
        # written the live file yet (or never will: it was killed; ``Transaction.allocate`` removes it).
        given = int(self.meta_doc()["next_job"])
        numbers = (int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())
        return sorted(n for n in numbers if n not in live and n < given)

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
        """The record of ``job_id`` (its array's file, the live file, then its archive shard), or None."""
        found = self.find_many([job_id])
        return found.get(job_id)

    def find_many(self, job_ids: Iterable[str]) -> dict[str, JobInfo]:
        """The records of ``job_ids`` that exist, by id (``records``)."""
        return {info.id: info for info in infos(self.records(job_ids).values())}

    def records(self, job_ids: Iterable[str], archived: bool = True) -> dict[str, dict[str, Any]]:
        """The stored records of ``job_ids`` that exist, by id: each task in its array's file, the rest in one
        pass over the live file, then (``archived``) each archive shard that may hold what is still missing
        (``find`` for each of an array's 5,000 tasks was a pass each)."""
        wanted = set(job_ids)
        found: dict[str, dict[str, Any]] = {}
        for job_id in wanted:
            number = number_of(job_id)
            array = None if number is None else self.array(number)
            record = None if array is None else array.get(job_id)
            if record is not None:
                found[job_id] = record
        missing = wanted - found.keys()
        if missing:
            found.update((r["id"], r) for r in self.single_records() if r["id"] in missing)
            missing -= found.keys()
        shards = set(self.shard_numbers()) if missing and archived else set()
        numbers = {int(i.split(".", 1)[0]) for i in missing if i.split(".", 1)[0].isdigit()}
        for key in sorted({shard_of(n) for n in numbers} & shards):
            for doc in self.shard(key * SHARD_SIZE).all():
                if doc["id"] in missing:
                    found[doc["id"]] = doc
        return found

    def get(self, job_id: str) -> JobInfo:
        info = self.find(job_id)
        if info is None:
            raise JobNotFound(f"unknown job id {job_id}")
        return info

    def tasks(self, number: int) -> list[JobInfo]:
        """Every record whose job number is ``number`` (one job, or an array's tasks)."""
        prefix = f"{number}."
        array = self.array(number)
        found = {r["id"]: r for r in array.jobs.values()} if array is not None else {}
        for r in self.single_records():
            if r["id"] == str(number) or r["id"].startswith(prefix):
                found.setdefault(r["id"], r)
        if shard_of(number) in self.shard_numbers():
            for doc in self.shard(number).all():
                if doc["id"] == str(number) or doc["id"].startswith(prefix):
                    found.setdefault(doc["id"], doc)
        return infos(found.values())

    def archived_records(self, newest_first: bool = True) -> Iterator[dict[str, Any]]:
        """Archived records shard by shard, newest shard first by default; an archived array's tasks come
        with the shard of its number, before the shard's own records (newest first)."""
        numbers = self.shard_numbers()
        arrays: dict[int, list[int]] = {}
        for number in self.archived_arrays():
            arrays.setdefault(shard_of(number), []).append(number)
        keys = sorted(set(numbers) | arrays.keys())
        for key in reversed(keys) if newest_first else keys:
            in_shard = arrays.get(key, [])
            if not newest_first:
                yield from self._shard_records(key, numbers, newest_first)
            for number in reversed(in_shard) if newest_first else in_shard:
                array = self.array(number)
                records = list(array.jobs.values()) if array is not None else []
                if newest_first:
                    records.reverse()
                yield from records
            if newest_first:
                yield from self._shard_records(key, numbers, newest_first)

    def _shard_records(self, key: int, numbers: list[int], newest_first: bool) -> list[dict[str, Any]]:
        if key not in numbers:
            return []
        data = self._read(self.store.shard_path(key)) or {}
        records = list(data.get("jobs", {}).values())
        if newest_first:
            records.reverse()
        return records


class Snapshot(Reader):
    """Read-only view taken without the lock."""

    def __init__(self, store: Layout) -> None:
        super().__init__(store)
        self._live = self._read(store.live_path) or new_file("?")

    def _live_data(self) -> dict[str, Any]:
        return self._live

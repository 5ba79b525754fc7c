"""Reading the store: live records and archive shards (``Reader``), and the lock-free ``Snapshot``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

from ..errors import JobNotFound
from ..models import JobInfo
from .files import SHARD_SIZE, FileStorage, Layout, new_file, open_db, read_json_file, shard_of


class Reader:
    """What transactions and snapshots share: reading live records and archive shards."""

    def __init__(self, store: Layout) -> None:
        self.store = store
        self._shards: dict[int, tuple[TinyDB, FileStorage]] = {}
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

    def find_many(self, job_ids: Iterable[str]) -> dict[str, JobInfo]:
        """The records of ``job_ids`` that exist, by id: one pass over the live records, then each archive
        shard that may hold the rest (``find`` for each of an array's 5,000 tasks was a pass each)."""
        wanted = set(job_ids)
        found = {r["id"]: JobInfo.from_record(r) for r in self.live_records() if r["id"] in wanted}
        missing = wanted - found.keys()
        shards = set(self.shard_numbers()) if missing else set()
        numbers = {int(i.split(".", 1)[0]) for i in missing if i.split(".", 1)[0].isdigit()}
        for key in sorted({shard_of(n) for n in numbers} & shards):
            for doc in self.shard(key * SHARD_SIZE).all():
                if doc["id"] in missing:
                    found[doc["id"]] = JobInfo.from_record(doc)
        return found

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
            data = self._read(path) or {}
            records = list(data.get("jobs", {}).values())
            if newest_first:
                records.reverse()
            yield from records


class Snapshot(Reader):
    """Read-only view taken without the lock."""

    def __init__(self, store: Layout) -> None:
        super().__init__(store)
        self._live = self._read(store.live_path) or new_file("?")

    def _live_data(self) -> dict[str, Any]:
        return self._live

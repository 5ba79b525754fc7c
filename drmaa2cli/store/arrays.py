"""An array's tasks in a file of their own (``arrays/N.json``), so that the live file stays the size of the single
jobs whatever the arrays beside it: a submit, a status or a control of one job never reads an array's 5,000 tasks.

The file has the shape of the other store files (``_meta`` with the schema version, ``jobs``), its records keyed
by task index, so one task is found without a pass over the others. An array keeps its file for life: the live
file lists the arrays that have a task not yet ended (``_meta.arrays``); an array not listed is archived, its
records counted in ``_meta.archived`` as the archive shards' records are. The array's file is written before the
live file, as the shards are: a reader that reads the live file first sees either an array's old file or its new
one, and never misses a task."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..models import JobInfo, JobState, JobTemplate
from .files import new_file, write_sound

ARRAYS_DIR = "arrays"
#: The live file's meta entry listing live arrays by number.
LIVE_ARRAYS = "arrays"


def number_of(job_id: str) -> int | None:
    """The array number of a task id ("12.3" -> 12); None for a single job's id or a malformed one."""
    head, dot, _ = job_id.partition(".")
    return int(head) if dot and head.isdigit() else None


def key_of(job_id: str) -> str:
    """A task's key in its array's file: its index."""
    return job_id.partition(".")[2]


_INFO_FIELDS = frozenset(f.name for f in fields(JobInfo)) - {"state", "template"}
_TEMPLATE_FIELDS = frozenset(f.name for f in fields(JobTemplate))


def infos(records: Iterable[dict[str, Any]]) -> list[JobInfo]:
    """``JobInfo.from_record`` of many records at once, for an array's tasks: their templates are most often
    equal, and an equal template read once is one JobTemplate shared by the tasks (nothing changes a job's
    template in place: ``dataclasses.replace`` makes a new one). Reading 5,000 tasks one by one spent most of
    its time making 5,000 equal templates."""
    out = []
    last: dict[str, Any] | None = None
    template = JobTemplate()
    for record in records:
        raw = record.get("template") or {}
        if raw != last:
            last = raw
            template = JobTemplate(**{k: v for k, v in raw.items() if k in _TEMPLATE_FIELDS})
        info = JobInfo(**{k: v for k, v in record.items() if k in _INFO_FIELDS},
                       state=JobState(record.get("state", "undetermined")), template=template)
        out.append(info)
    return out


def counts(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Records counted per session and state (the shape of ``_meta.archived``)."""
    out: dict[str, dict[str, int]] = {}
    for record in records:
        per_state = out.setdefault(record["session"], {})
        per_state[record["state"]] = per_state.get(record["state"], 0) + 1
    return out


def add_counts(archived: dict[str, dict[str, int]], more: dict[str, dict[str, int]], sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) ``more`` from the archived counts, in place."""
    for session, states in more.items():
        mine = archived.setdefault(session, {})
        for state, n in states.items():
            mine[state] = max(0, mine.get(state, 0) + sign * n)


class ArrayFile:
    """One array's file as read under the lock or in a snapshot: its records by key, written whole by
    ``flush``. ``was_live``: whether the live file listed the array when the file was read; for an archived
    array, ``counted`` is what its records added to the archived counts then."""

    def __init__(self, path: Path, number: int, data: dict[str, Any] | None, was_live: bool) -> None:
        self.path, self.number = path, number
        self.existed = data is not None
        self.data = data if data is not None else new_file()
        self.data.setdefault("jobs", {})
        self.was_live = was_live
        self.counted = {} if was_live else counts(self.jobs.values())
        self.dirty = False

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.data["jobs"]  # type: ignore[no-any-return]

    def get(self, job_id: str) -> dict[str, Any] | None:
        record = self.jobs.get(key_of(job_id))
        return record if record is not None and record.get("id") == job_id else None

    def active(self) -> bool:
        return any(not JobState(r["state"]).final for r in self.jobs.values())

    def flush(self) -> None:
        """Write the file if it changed (nothing when it became empty: the caller removes it)."""
        if self.dirty and self.jobs:
            write_sound(self.path, self.data)
            self.dirty = False

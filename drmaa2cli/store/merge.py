"""What a write does to a stored record (``merged``), the writes of an array's tasks into its file
(``put_tasks``), and the check of new records (``checked``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidArgument
from ..models import JobInfo, JobState
from .arrays import ArrayFile, key_of
from .check import record_problem

Merge = tuple[dict[str, Any], bool, bool]


def merged(current: dict[str, Any], info: JobInfo, record: dict[str, Any]) -> Merge | None:
    """What writing ``info`` (its ``record``) over the stored ``current`` does: None (nothing), or the record to
    write, whether it replaces the stored one whole, and whether the stored annotation goes (a record whose state
    changes takes the new annotation, none included: otherwise a field set to None leaves the stored one as it
    was)."""
    if JobState(current["state"]).final:
        return None
    # Attempts (``retries.py``): a copy of an earlier attempt (a `wait` that read the job before its
    # retry) never writes over the later one, and a new attempt replaces the record whole -- the old
    # attempt's times and exit status must not linger in it -- unless drmaa2 kill asked for its end.
    stored_attempts = len(current.get("attempts") or ())
    if info.attempt - 1 < stored_attempts:
        return None
    stored = current.get("backend_data")
    if info.attempt - 1 > stored_attempts:
        if isinstance(stored, dict) and "terminate_requested" in stored:
            return None
        return record, True, False
    # drmaa2's own kill request (Service._mark_terminated) outlives a write from a copy of the job
    # read before it (a `wait` in another shell), or that copy would end it as "cancelled by someone".
    if isinstance(stored, dict) and "terminate_requested" in stored:
        data = record.setdefault("backend_data", {})
        data.setdefault("terminate_requested", stored["terminate_requested"])
    return record, False, info.annotation is None and current.get("state") != record["state"]


def put_tasks(array: ArrayFile, infos: Sequence[JobInfo], create: bool) -> None:
    """``put_many`` for tasks of one array, in its file (records by task index: no pass over the others)."""
    new: list[JobInfo] = []
    templates: dict[int, dict[str, Any]] = {}  # id of a template -> its dict, made once for the tasks sharing it
    for info in infos:
        current = array.get(info.id)
        if current is None:
            if create:
                new.append(info)
            continue
        template = templates.get(id(info.template))
        if template is None:
            template = templates[id(info.template)] = info.template.to_dict()
        change = merged(current, info, info.to_record(template))
        if change is None:
            continue
        record, whole, clear = change
        if whole:
            array.jobs[key_of(info.id)] = record
        else:
            current.update(record)
            if clear:
                current.pop("annotation", None)
        array.dirty = True
    if new:
        for record in checked(new):
            array.jobs[key_of(record["id"])] = record
        array.dirty = True


def checked(infos: list[JobInfo]) -> list[dict[str, Any]]:
    """The records of new jobs, checked first (``_distinct``); raises InvalidArgument."""
    records = [info.to_record() for info in infos]
    for record in _distinct(infos, records):
        wrong = record_problem(record)
        if wrong is not None:  # written, it would cost every later read (a job_name of 5, say)
            raise InvalidArgument(f"job {record['id']} cannot be recorded: {wrong}")
    return records


def _distinct(infos: list[JobInfo], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records to check: an array's tasks share one template, so one task of each template stands for all
    (the other fields of a task are the core's own, of the same types)."""
    seen: set[int] = set()
    out = []
    for info, record in zip(infos, records, strict=True):
        key = id(info.template)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out

"""The shape of a store file. A file edited into valid JSON of the wrong shape (a list where records belong, a
state that does not exist, a time that is a string) is reported as damaged, naming the file and the first
problem, instead of failing later, somewhere deep inside, as an internal error."""

from __future__ import annotations

import re
from typing import Any

from .. import mark
from ..backends import check_data
from ..models import JOB_ID as _ID
from ..models import JobState

_DOC_ID = re.compile(r"\d{1,18}\Z", re.ASCII)
_STATES = frozenset(s.value for s in JobState)
_NUMBER = (int, float)
# The fields of a job record and of its template, with the types each may hold (besides null).
_RECORD: dict[str, tuple[type, ...]] = {
    "id": (str,), "session": (str,), "backend": (str,), "state": (str,),
    "submission_time": _NUMBER, "dispatch_time": _NUMBER, "finish_time": _NUMBER, "cpu_time": _NUMBER,
    "exit_status": (int,), "signal": (int,), "max_rss": (int,),
    "native_id": (str,), "annotation": (str,), "machine": (str,), "submission_machine": (str,),
    "job_owner": (str,), "output_path": (str,), "error_path": (str,), "after": (list,), "after_mode": (str,),
    "template": (dict,), "backend_data": (dict,), "attempts": (list,),
}
_TEMPLATE: dict[str, tuple[type, ...]] = {
    "remote_command": (str,), "args": (list,), "job_name": (str,), "working_directory": (str,),
    "job_environment": (dict,), "input_path": (str,), "output_path": (str,), "error_path": (str,),
    "join_files": (bool,), "job_category": (str,), "submit_as_hold": (bool,), "timeout": _NUMBER,
    "queue_name": (str,), "resource_limits": (dict,), "stage_in_files": (dict,), "extension": (dict,),
    "candidate_machines": (list,), "min_phys_memory": (int,), "accounting_id": (str,),
    "stage_out_files": (dict,), "retries": (int,), "retry_delay": _NUMBER, "comment": (str,),
    "email": (list,), "mail_types": (list,), "notify_command": (str,),
}

# What the backends keep in ``backend_data`` is checked too, because the code hashes, compares and signals these
# values: a list where a pid belongs would be an internal error deep inside a refresh. Each backend declares its
# own keys (``backends.check_data`` reads them without loading the backend: cf's import alone is ~60 ms), the
# deferred starts' mark is checked by ``mark.check_data``. Unknown keys are left alone for records written by other
# versions.

# Fields that may be missing but not null: the code iterates over them or joins them.
_NEVER_NULL = frozenset({"template", "backend_data", "remote_command", "args", "job_environment",
                         "resource_limits", "stage_in_files", "extension", "candidate_machines",
                         "stage_out_files"})


def problem(data: dict[str, Any], live: bool, bad: dict[str, str] | None = None) -> str | None:
    """The first thing wrong with a parsed store file whose ``_meta`` says it is ours, or None.
    ``live``: the live file (``jobs.json``), whose meta also holds the next job number and the instance.
    ``bad``: when given, a job record that is wrong is not the file's damage but its own: it goes into ``bad``
    (its key in the file -> what is wrong with it), and the rest of the file is checked on."""
    for name, table in data.items():
        if not isinstance(table, dict):
            return f"table {name!r} is not an object"
        for key, doc in table.items():
            if not _DOC_ID.match(key):
                return f"table {name!r} has an entry {key!r} that is not a record"
            if not isinstance(doc, dict):
                if name == "jobs" and bad is not None:
                    bad[key] = "it is not an object"
                    continue
                return f"table {name!r} has an entry {key!r} that is not a record"
    meta = data["_meta"]["1"]
    if live and (not isinstance(meta.get("next_job"), int) or not isinstance(meta.get("instance"), str)):
        return "its next job number or instance id is missing or not a number and a string"
    arrays = meta.get("arrays", [])
    if not isinstance(arrays, list) or not all(type(n) is int for n in arrays):
        return "its list of live arrays is not a list of job numbers"
    archived = meta.get("archived", {})
    counts = archived.values() if isinstance(archived, dict) else [None]
    if not all(isinstance(c, dict) and all(isinstance(n, int) for n in c.values()) for c in counts):
        return "its counts of archived jobs are not numbers per session and state"
    if not all(isinstance(doc.get("name"), str) for doc in data.get("sessions", {}).values()):
        return "a session has no name"
    for key, doc in data.get("jobs", {}).items():
        if not isinstance(doc, dict):
            continue  # in ``bad`` already
        wrong = record_problem(doc)
        if wrong is not None:
            if bad is None:
                return f"job record {str(doc.get('id'))[:20]!r}: {wrong}"
            bad[key] = wrong
    return None


def record_problem(doc: dict[str, Any]) -> str | None:
    """What is wrong with one job record as the store keeps it (a dict), or None."""
    for key in ("id", "session", "backend", "state"):
        if not isinstance(doc.get(key), str):
            return f"{key} is missing or not a string"
    if not _ID.match(doc["id"]):
        return "the id is not a job id"
    if doc["state"] not in _STATES:
        return f"unknown state {doc['state'][:20]!r}"
    wrong = _wrong_types(doc, _RECORD) or _wrong_types(doc.get("template") or {}, _TEMPLATE)
    if wrong is not None:
        return f"{wrong} has the wrong type"
    data = doc.get("backend_data") or {}
    bad = check_data(doc["backend"], data) or mark.check_data(data)
    if bad is not None:
        return bad
    if not all(isinstance(a, dict) for a in doc.get("attempts") or []):
        return "an attempt is not an object"
    template = doc.get("template") or {}
    if not all(isinstance(a, str) for a in template.get("args", [])):
        return "an argument is not a string"
    if not all(isinstance(v, str) for v in (template.get("job_environment") or {}).values()):
        return "an environment value is not a string"
    return None


def _wrong_types(doc: dict[str, Any], types: dict[str, tuple[type, ...]]) -> str | None:
    # Over the record's own keys, an exact type first: every archive shard read is checked, and `rm --finished`
    # of 100,000 jobs read each of them twice.
    for key, value in doc.items():
        allowed = types.get(key)
        if allowed is None or type(value) in allowed:
            continue
        if value is None:
            if key in _NEVER_NULL:
                return key
            continue
        if isinstance(value, bool) or not isinstance(value, allowed):  # JSON true is not a number here
            return key
    return None

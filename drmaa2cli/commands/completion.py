"""Shell-completion values read at completion time: job ids, session names, backend names.

They read the live store file only (active and recent jobs), without the lock, and never raise: a broken
store must not break the user's shell.
"""

from typing import Any

from .. import backends, config
from ..errors import Drmaa2Error
from ..store import Store


def _snapshot_records() -> tuple[list[dict[str, Any]], list[str]]:
    try:
        snap = Store(config.home_dir()).snapshot()
        return list(snap.live_records()), snap.session_names()
    except (Drmaa2Error, OSError, ValueError, KeyError):
        return [], []


def job_ids(incomplete: str) -> list[tuple[str, str]]:
    """Job ids (array numbers too) with their state and command as help."""
    records, _ = _snapshot_records()
    found: dict[str, str] = {}
    for rec in records:
        number = rec["id"].split(".", 1)[0]
        template = rec.get("template", {})
        command = " ".join([template.get("remote_command", ""), *template.get("args", [])])
        found.setdefault(number, f"{rec['state']}: {command}"[:60])
        found[rec["id"]] = f"{rec['state']}: {command}"[:60]
    return [(i, h) for i, h in sorted(found.items()) if i.startswith(incomplete)]


def sessions(incomplete: str) -> list[str]:
    _, names = _snapshot_records()
    return [n for n in names if n.startswith(incomplete)]


def backend_names(incomplete: str) -> list[str]:
    return [n for n in backends.names() if n.startswith(incomplete)]

"""Damaged records: one job record that fails its check never costs the rest of the store. A reader leaves it
out and says so once (``report``); the next write moves it to ``quarantine.json`` beside the store, kept whole
(0600), and rewrites its file without it (``keep``); ``drmaa2 doctor`` lists what is there (``entries``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from .files import Layout, atomic_write

#: What this process has told of already: (file, key in the file).
_TOLD: set[tuple[str, str]] = set()


def report(layout: Layout, found: Sequence[dict[str, Any]], moved: bool) -> None:
    """Tell ``layout.warn`` of each damaged record in ``found``, once per process."""
    warn: Callable[[str], None] | None = layout.warn
    for entry in found:
        seen = (entry["file"], entry["key"])
        if warn is None or seen in _TOLD:
            continue
        _TOLD.add(seen)
        record = entry["record"]
        name = record.get("id") if isinstance(record, dict) else None
        what = f"job record {str(name)[:20]!r}" if isinstance(name, str) else f"entry {entry['key']} of the jobs"
        where = (f"moved to {layout.quarantine_path}" if moved
                 else f"left out; the next change of the store moves it to {layout.quarantine_path}")
        warn(f"{what} in {entry['file']} is damaged ({entry['problem']}): {where} (see `drmaa2 doctor`)")


def entries(layout: Layout) -> list[dict[str, Any]]:
    """What the quarantine file holds, oldest first ([] when there is none or it cannot be read)."""
    try:
        data = json.loads(layout.quarantine_path.read_bytes())
    except (OSError, ValueError):
        return []
    records = data.get("records") if isinstance(data, dict) else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def keep(layout: Layout, found: Sequence[dict[str, Any]]) -> None:
    """Add ``found`` to the quarantine file (under the store lock: only writers call this), each once."""
    old = entries(layout)
    have = {(e.get("file"), e.get("key"), json.dumps(e.get("record"), sort_keys=True)) for e in old}
    now = time.time()
    new = []
    for entry in found:
        mark = (entry["file"], entry["key"], json.dumps(entry["record"], sort_keys=True))
        if mark not in have:
            have.add(mark)
            new.append({**entry, "quarantined": now})
    if new:
        atomic_write(layout.quarantine_path, json.dumps({"records": old + new}, indent=1).encode())

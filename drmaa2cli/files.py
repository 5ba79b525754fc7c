"""Small file helpers that the store and the backends share: a private directory, a file replaced whole or not
at all, a JSON record read without fuss. Here rather than in ``store`` so that no backend imports the store.

The lean helpers (the process shepherd, the docker watchdog) keep their own copies: they run under
``python -I -S`` and cannot import this package (see ``procfs.helper_argv``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import StoreError

#: The placeholders a job's input, output and error paths may hold (``fill_placeholders``).
PLACEHOLDERS = re.compile(r"%[Aaj%]|\$DRMAA2_(?:INDEX|HOME_DIR|WORKING_DIR)\$")


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` 0700 if missing, and the parents it needs 0700 too (a parent another user could write
    to would let them swap the home); refuse a path that is not a directory. Raises StoreError."""
    if path.is_dir():
        return
    missing = []
    for directory in (path, *path.parents):
        if os.path.lexists(directory):
            break
        missing.append(directory)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        except FileExistsError:
            pass  # made by a concurrent drmaa2 meanwhile
        except NotADirectoryError:
            raise StoreError(f"{directory.parent} is not a directory") from None
        except OSError as e:
            raise StoreError(f"cannot create {directory}: {e.strerror}") from None
    if not path.is_dir():
        raise StoreError(f"{path} exists and is not a directory")


def temp_name(path: Path) -> Path:
    """The temp file ``write_atomically`` fills before the rename: hidden, per process, ending in ``.tmp`` (the
    store sweeps such leftovers of a killed writer; the shepherd skips them among its control requests)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomically(path: str | Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data``: a temp file 0600 in the same directory, then a rename, so a reader sees
    the old file or the new one, never half of it. ``durable``: fsync before the rename, so that the new
    content survives a power loss (left out for control files that only matter while this machine runs, where
    the fsync would be most of the cost). Raises OSError; the temp file is removed then."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing, unreadable, not JSON or not an object (a record
    another process has not written yet reads as absent)."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fill_placeholders(path: str, number: str, index: str, working_dir: str) -> str:
    """Fill the path placeholders %A (job number), %a (task index), %j (job id: 12 or 12.3), %% and
    $DRMAA2_INDEX$, $DRMAA2_HOME_DIR$, $DRMAA2_WORKING_DIR$ for one job number; ``index`` is the task index,
    or "" for a single job (a backend may pass a mark of its own, filled in later by its scheduler)."""
    values = {
        "%A": number,
        "%a": index,
        "%j": f"{number}.{index}" if index else number,
        "%%": "%",
        "$DRMAA2_INDEX$": index,
        "$DRMAA2_HOME_DIR$": os.path.expanduser("~"),
        "$DRMAA2_WORKING_DIR$": working_dir,
    }
    return PLACEHOLDERS.sub(lambda m: values[m.group(0)], path)


def create_private(paths: Iterable[str | None]) -> None:
    """Create a job's output files 0600 (emptied) before its platform or supervisor sees the job: a
    scheduler's daemon would create them with its own umask (0644), and opening a file that exists keeps its
    mode. Also makes them exist from submission on (``tail -f``), and empties a shared one once, before any
    task writes to it. Each path once; errors are left to whatever opens the file next, which reports them as
    the job's (O_NONBLOCK: a FIFO without a reader must not block)."""
    for path in dict.fromkeys(p for p in paths if p):
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_CLOEXEC, 0o600))

"""The processes a test run leaves behind, found through /proc, and the means to end them.

A process belongs to a test when its environment names a ``DRMAA2_HOME`` under one of the test's directories
(every CLI call, shepherd, runner and process-backend job started with that home inherits it), or when it is a
drmaa2 helper (a shepherd ``python -I -S -c ... shepherd.main()`` or a ``drmaa2cli _runner``) started by the
test in-process, which ``tests/conftest.py`` marks with ``OWNER`` in the environment. A helper's session (it is
started with setsid) holds its jobs: those belong to the test too. Machine-wide daemons (dockerd, the
schedulers) never qualify, even when a test's fixture started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Set in os.environ around every test: the test's own tmp directory.
OWNER = "PYTEST_DRMAA2_OWNER"


@dataclass(frozen=True)
class Proc:
    pid: int
    sid: int
    cmdline: str
    home: str | None
    owner: str | None

    @property
    def helper(self) -> bool:
        """A drmaa2 shepherd or runner."""
        return "shepherd.main()" in self.cmdline or "drmaa2cli _runner" in self.cmdline

    def describe(self) -> str:
        return f"pid {self.pid} ({self.cmdline[:160]}) DRMAA2_HOME={self.home}"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _proc(pid: int) -> Proc | None:
    stat = _read(f"/proc/{pid}/stat")
    environ = _read(f"/proc/{pid}/environ")
    cmdline = _read(f"/proc/{pid}/cmdline")
    if stat is None or environ is None or cmdline is None:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None  # ended; its parent has not reaped it yet
    env = dict(item.partition(b"=")[::2] for item in environ.split(b"\0") if item)
    home, owner = env.get(b"DRMAA2_HOME"), env.get(OWNER.encode())
    return Proc(pid, int(fields[3]), cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip(),
                os.fsdecode(home) if home else None, os.fsdecode(owner) if owner else None)


def _under(path: str | None, roots: Iterable[Path]) -> bool:
    if not path:
        return False
    real = os.path.realpath(path)
    return any(real == str(r) or real.startswith(str(r) + os.sep) for r in roots)


def _mine() -> set[int]:
    """This process and its ancestors (a test may put DRMAA2_HOME into pytest's own environment)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        stat = _read(f"/proc/{pid}/stat")
        if stat is None:
            break
        pid = int(stat[stat.rindex(b")") + 2 :].split()[1])
    return pids


def left_behind(roots: Iterable[Path], leaders: set[int] | None = None) -> list[Proc]:
    """Every live process that belongs to a test whose directory is (under) one of ``roots``. ``leaders``
    collects the sessions of the helpers found, so that a job whose shepherd was killed is still found."""
    roots = [Path(os.path.realpath(r)) for r in roots]
    leaders = set() if leaders is None else leaders
    mine = _mine()
    procs = [p for p in (_proc(int(d)) for d in os.listdir("/proc") if d.isdigit()) if p and p.pid not in mine]
    owned = {p.pid: p for p in procs if _under(p.home, roots) or (p.helper and _under(p.owner, roots))}
    leaders.update(p.pid for p in owned.values() if p.helper and p.sid == p.pid)
    owned.update((p.pid, p) for p in procs if p.sid in leaders)
    # Helpers first: a shepherd or runner killed first cannot start anything more.
    return sorted(owned.values(), key=lambda p: (not p.helper, p.pid))


def end(roots: Iterable[Path], grace: float = 3.0, rounds: int = 20) -> list[Proc]:
    """SIGKILL everything ``left_behind(roots)`` finds, until nothing is left (at most ``rounds`` passes: a
    dying helper may have started one more process meanwhile). A shepherd whose job just ended, or a CLI call
    on its way out, is given ``grace`` seconds to end by itself first. Returns what had to be killed."""
    roots = list(roots)
    leaders: set[int] = set()
    deadline = time.monotonic() + grace
    while left_behind(roots, leaders) and time.monotonic() < deadline:
        time.sleep(0.05)
    first: list[Proc] | None = None
    for _ in range(rounds):
        found = left_behind(roots, leaders)
        if first is None:
            first = found
        if not found:
            break
        for p in found:
            if _proc(p.pid) != p:
                continue  # gone, and the pid perhaps reused by someone else's process
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
        time.sleep(0.05)  # let the kernel finish the kills before looking again
    return first or []

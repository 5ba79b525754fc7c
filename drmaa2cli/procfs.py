"""Processes by pid *and* /proc start time (so a reused pid is never taken for ours), and the detached,
handshake-started helpers (shepherds, runners) that must outlive the command that starts them.

``backends/process/shepherd.py`` keeps its own copy of ``proc_start``: it runs with the standard library only.
"""

from __future__ import annotations

import os
import sys


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2 :].split()  # the name may hold spaces and parentheses


def proc_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot; None if there is no such process or it exited
    (a zombie whose parent has not reaped it yet)."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def proc_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (R, S, T for stopped, ...), or None."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[0].decode()


def alive(pid: int | None, start: int | None) -> bool:
    return pid is not None and start is not None and proc_start(pid) == start


class DetachedLaunch:
    """A helper process started in its own session, waiting on stdin for what it should do.

    It is started before the store records are committed and told what to do only afterwards, so a
    command killed in between leaves nothing running: the helper reads end-of-file and exits.
    """

    def __init__(self, argv: list[str], env: dict[str, str], stderr_path: str = os.devnull,
                 blocked: tuple[int, ...] = ()) -> None:
        """``blocked``: signals the helper starts with blocked, for it to unblock once it handles them (a
        signal sent to it earlier then waits instead of taking its default action)."""
        read_fd, self.pipe = os.pipe()
        try:
            self.pid = os.posix_spawn(
                sys.executable,
                [sys.executable, *argv],
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read_fd, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                ],
                setsid=True,
                setsigmask=blocked,
            )
        finally:
            os.close(read_fd)
        self.ticks = proc_start(self.pid)

    def send(self, data: bytes) -> None:
        """Hand over the work and let go of the helper."""
        try:
            os.write(self.pipe, data)
        finally:
            os.close(self.pipe)

    def abort(self) -> None:
        os.close(self.pipe)  # end-of-file without work: the helper exits and starts nothing

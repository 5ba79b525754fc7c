"""Processes by pid *and* /proc start time (so a reused pid is never taken for ours), and the detached,
handshake-started helpers (shepherds, runners) that must outlive the command that starts them.

``backends/process/shepherd.py`` keeps its own copy of ``proc_start``: it runs with the standard library only.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import JobInfo


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


def helper_argv(*, module: str | None = None, script: Path | None = None, args: Sequence[str] = ()) -> list[str]:
    """The interpreter's arguments that run a helper (the program itself, ``sys.executable``, comes first).

    ``module``: a helper that needs the installed package and its dependencies (the runner opens the store),
    run as ``python -m MODULE ARGS`` with the environment's site-packages.

    ``script``: a lean helper (the process shepherd, the docker watchdog), a module in a backend package that
    imports only the standard library and its own package's siblings, and has a ``main()``. It runs under
    ``-I -S``: no site-packages, no user environment, no ``PYTHON*`` variables, so it starts fast and stays
    small for as long as its job runs. It is imported as ``PACKAGE.NAME`` from the folder that holds its
    package rather than run as ``__main__``: an imported module is loaded from its cached ``.pyc`` instead of
    compiled at every start, its relative imports work, and neither ``drmaa2cli/__init__`` nor the backend
    registry is imported (the backend packages' ``__init__`` modules import nothing). That folder then comes
    first on ``sys.path``, so a helper must not import a standard module named like a package there (``sched``).
    """
    if (module is None) == (script is None):
        raise ValueError("a helper is a module or a script")
    if module is not None:
        return ["-m", module, *args]
    assert script is not None
    root, name = script.parent.parent, f"{script.parent.name}.{script.stem}"
    boot = f"import sys; sys.path.insert(0, {str(root)!r}); from {name} import main; main()"
    return ["-I", "-S", "-c", boot, *args]


class DetachedLaunch:
    """A helper process started in its own session, waiting on stdin for what it should do: the one way
    drmaa2 starts a process that must outlive the command that starts it (see ``helper_argv`` for what runs).

    It is started before the store records are committed and told what to do only afterwards, so a
    command killed in between leaves nothing running: the helper reads end-of-file and exits.
    """

    def __init__(
        self,
        *,
        module: str | None = None,
        script: Path | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str],
        stderr_path: str = os.devnull,
        blocked: tuple[int, ...] = (),
    ) -> None:
        """``env``: the helper's whole environment; ``stderr_path``: where its complaints go (appended, 0600);
        ``blocked``: signals the helper starts with blocked, for it to unblock once it handles them (a signal
        sent to it earlier then waits instead of taking its default action)."""
        argv = [sys.executable, *helper_argv(module=module, script=script, args=args)]
        read_fd, self.pipe = os.pipe()
        try:
            self.pid = os.posix_spawn(
                sys.executable,
                argv,
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


#: A submitter on another machine cannot be checked; after this many seconds it is taken for gone.
FOREIGN_SUBMITTER_SECONDS = 60.0


def submitter() -> dict[str, Any]:
    """This process, as the submitter of a job (recorded in ``backend_data["submitter"]``)."""
    import socket  # only the container backends record a submitter: not every command's start-up

    return {"host": socket.gethostname(), "pid": os.getpid(), "start": proc_start(os.getpid())}


def submitter_alive(job: JobInfo) -> bool:
    """Whether the process that submitted ``job`` may still be creating it on its platform (a container, a
    Kubernetes Job): the recorded submitter runs here, or ran on another machine less than a minute ago."""
    import socket

    who = job.backend_data.get("submitter") or {}
    if who.get("host") != socket.gethostname():
        return time.time() - (job.submission_time or 0.0) < FOREIGN_SUBMITTER_SECONDS
    return alive(who.get("pid"), who.get("start"))


def process_of(value: object) -> tuple[int, int] | None:
    """A process as the store keeps it, ``[pid, start ticks]`` (a queue's or the retries' runner), or None
    for anything else."""
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value):
        return value[0], value[1]
    return None

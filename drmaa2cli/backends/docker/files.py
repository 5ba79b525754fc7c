"""The docker backend's files in the drmaa2 home, shared by every drmaa2 process of that home.

- ``run/ID.docker.json``: the job's final result, written once (under the job's lock) before its container
  is removed, so the result outlives the container and a second finaliser finds it instead of the engine.
- ``run/ID.docker-kill``: the signal ``terminate`` sent ("timeout" when the watchdog stopped the job),
  because the engine shows only the exit code (137 is both ``exit 137`` and SIGKILL) and ``terminate``
  cannot change the job's record.
- ``locks/ID.lock``: flock'ed while a job is finalised, so that concurrent refreshers finalise it once.
- ``run/ID.out.following`` (``.err``): the job's output as a process following it live (`run`, `logs
  --follow`; one at a time, the first) receives it; renamed to ``run/ID.out.followed`` once the engine ended the
  stream, when it holds the whole output. The finaliser then copies it into the job's file, in the kernel,
  instead of reading the container's log from the engine once more (the engine serves a log at a few MB/s: one
  frame per line).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ...files import read_json, write_atomically


class JobFiles:
    """Paths and atomic reads/writes of the files above for one drmaa2 home."""

    def __init__(self, home: Path) -> None:
        self.run_dir = home / "run"
        self.lock_dir = home / "locks"

    def ensure_dirs(self) -> None:
        for d in (self.run_dir, self.lock_dir):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _result_path(self, job_id: str) -> Path:
        return self.run_dir / f"{job_id}.docker.json"

    def kill_path(self, job_id: str) -> Path:
        """Where the signal drmaa2 sent is recorded (by ``record_kill``, or by the timeout watchdog)."""
        return self.run_dir / f"{job_id}.docker-kill"

    def result(self, job_id: str) -> dict[str, Any] | None:
        return read_json(self._result_path(job_id))

    def write_result(self, job_id: str, result: dict[str, Any]) -> None:
        write_atomically(self._result_path(job_id), json.dumps(result).encode())

    def kill_signal(self, job_id: str) -> int | str | None:
        """The signal ``terminate`` sent (a number, or "stop" for SIGTERM then SIGKILL), "timeout" (the watchdog
        stopped it) or "overdue" (a refresh killed a job long past its timeout), if any."""
        data = read_json(self.kill_path(job_id))
        return None if data is None else data.get("signal")

    def record_kill(self, job_id: str, signal: int | str | None) -> None:
        if signal is None:
            with contextlib.suppress(FileNotFoundError):
                self.kill_path(job_id).unlink()
        else:
            write_atomically(self.kill_path(job_id), json.dumps({"signal": signal}).encode())

    @contextlib.contextmanager
    def lock(self, job_id: str) -> Iterator[None]:
        """Hold the job's lock (blocking). Raises OSError if the lock file cannot be created."""
        fd = os.open(self.lock_dir / f"{job_id}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def drop_lock(self, job_id: str) -> None:
        """Unlink the job's lock file, by its holder once the result is written: a process that then locks
        a new file by that name, or still waits on the old one, finds the result and changes nothing."""
        with contextlib.suppress(FileNotFoundError):
            (self.lock_dir / f"{job_id}.lock").unlink()

    def followed_path(self, job_id: str, key: str) -> Path:
        """The whole output for the job's file ``key`` ("out", "err"), as a follower received it."""
        return self.run_dir / f"{job_id}.{key}.followed"

    def following_path(self, job_id: str, key: str) -> Path:
        """Where a follower keeps what it receives for ``key`` while it follows (one follower at a time)."""
        return self.run_dir / f"{job_id}.{key}.following"

    def drop_followed(self, job_id: str) -> None:
        for key in ("out", "err"):
            with contextlib.suppress(FileNotFoundError):
                self.followed_path(job_id, key).unlink()

    def remove(self, job_id: str) -> None:
        """Forget the job (its record is being reaped)."""
        kept = [self.following_path(job_id, key) for key in ("out", "err")]
        kept += [self.followed_path(job_id, key) for key in ("out", "err")]
        for path in (self._result_path(job_id), self.kill_path(job_id), self.lock_dir / f"{job_id}.lock", *kept):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def create_output(path: str) -> None:
    """Create (or empty) an output file, 0600, so that it can be followed while the job runs."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600))


def fill_output(path: str, chunks: Iterable[bytes]) -> None:
    """Write the job's whole output into ``path``, in place and synced (see ``fill_outputs``)."""
    fill_outputs({0: path}, ((0, chunk) for chunk in chunks))


def fill_outputs(paths: Mapping[int, str], blocks: Iterable[tuple[int, bytes]]) -> None:
    """Write the job's whole output into its files: each (stream, bytes) block to ``paths[stream]`` (a stream
    without a path is dropped), every file in place and synced; a path given for two streams gets both, in
    order.

    In place rather than renamed over, so that a ``tail -f`` started at submission sees it. A reader never
    sees it half written: the job's record turns final only after this returned, and if this process dies
    half-way the container (which still holds the output) is kept and the next refresh writes it again.
    """
    fds: dict[str, int] = {}
    try:
        for path in paths.values():
            if path not in fds:
                fds[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        by_stream = {stream: fds[path] for stream, path in paths.items()}
        for stream, data in blocks:
            fd = by_stream.get(stream)
            if fd is not None:
                write_all(fd, data)
        for fd in fds.values():
            os.fsync(fd)
    finally:
        for fd in fds.values():
            os.close(fd)


def copy_output(path: str, source: Path) -> None:
    """Write the job's whole output from ``source`` into ``path``, in place and synced (as ``fill_outputs``), in
    the kernel."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            done = 0
            while done < size:
                sent = os.sendfile(fd, src.fileno(), done, size - done)
                if sent == 0:
                    break
                done += sent
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

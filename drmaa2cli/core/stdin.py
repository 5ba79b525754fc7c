"""`drmaa2 run`'s standard input, passed to its job (`echo data | drmaa2 run -- cat`).

A job runs detached from the command that submitted it, so its standard input is a path (``input_path``):
- a backend whose jobs open their input on this machine when they start (``Backend.local_input``: process)
  gets a named pipe, fed as the data comes, so `producer | drmaa2 run -- consumer` streams;
- a backend that honours an input file (the schedulers: sbatch --input, qsub -i) gets a copy of all of stdin,
  read to its end before the job is submitted, as the job may start on another machine of the cluster;
- a backend that has no standard input for its jobs (``input_path`` in its ``unsupported_fields``: docker,
  cf) refuses, rather than the job reading nothing in silence.
Standard input is passed only when it is not a terminal and not /dev/null, and never over an ``--input``.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

from ..backends import Backend
from ..errors import UnsupportedAttribute
from ..files import ensure_private_dir
from ..models import JobInfo, JobState

COPY_CHUNK = 65536
NOT_STARTED = frozenset({JobState.UNDETERMINED, JobState.QUEUED, JobState.QUEUED_HELD})


def waiting(fd: int = 0) -> bool:
    """Whether ``fd`` holds input meant for the job: not a terminal (a person at it expects no job to read
    it), not /dev/null, not closed, and for a regular file not empty."""
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    if os.isatty(fd):
        return False
    if stat.S_ISCHR(st.st_mode):
        try:
            null = os.stat(os.devnull)
        except OSError:
            return True
        return st.st_rdev != null.st_rdev
    if stat.S_ISREG(st.st_mode):
        return st.st_size > 0
    return True


class Feed:
    """The standard input of one `run`: a path for the job template, fed from ``fd``, removed by ``close``."""

    def __init__(self, backend: Backend, home: Path, array: bool, fd: int = 0) -> None:
        """Raises UnsupportedAttribute when ``backend`` cannot give a job standard input."""
        if "input_path" in backend.unsupported_fields:
            raise UnsupportedAttribute(
                f"the {backend.name} backend cannot pass standard input to a job; "
                "run it with </dev/null, or use another backend"
            )
        import tempfile  # ~10 ms with random: only a run with input pays it

        self.fd = fd
        directory = home / "input"
        ensure_private_dir(home)
        ensure_private_dir(directory)
        # Array tasks each read the whole input, as from a file (a pipe would deal it out among them).
        self.streaming = backend.local_input and not array
        self._pipe: int | None = None
        self._done = threading.Event()  # the copy has ended (stdin reached its end, or the pipe broke)
        if self.streaming:
            self.path = os.path.join(tempfile.mkdtemp(dir=directory), "stdin")
            os.mkfifo(self.path, 0o600)
            # Held read-write, so the job's open never blocks and no written byte is lost before it has opened
            # its end (a pipe's data lives while any end is open); closed once the job started and stdin ended.
            self._pipe = os.open(self.path, os.O_RDWR)
            threading.Thread(target=self._copy, name="stdin", daemon=True).start()
        else:
            handle, self.path = tempfile.mkstemp(dir=directory, prefix="stdin-")
            try:
                self._copy_all(handle)
            except BaseException:  # Ctrl-C while reading, a broken stdin: no job, no copy left behind
                os.unlink(self.path)
                raise
            finally:
                os.close(handle)

    def _copy_all(self, target: int) -> None:
        while chunk := os.read(self.fd, COPY_CHUNK):
            _write_all(target, chunk)

    def _copy(self) -> None:
        try:
            while chunk := os.read(self.fd, COPY_CHUNK):
                _write_all(self._pipe, chunk)  # type: ignore[arg-type]  # set before the thread starts
        except OSError:
            pass  # the job went away (or stdin broke): nothing more to pass
        finally:
            self._done.set()

    def seen(self, jobs: Iterable[JobInfo]) -> None:
        """Called with the job's latest info: once it has started (opened its end) and stdin has ended, the
        job is given its end of file."""
        if any(j.state not in NOT_STARTED for j in jobs):
            self._close_pipe()

    def _close_pipe(self) -> None:
        # Only once the copy has ended: closing a descriptor another thread still writes to could let it
        # write into whatever file reuses the number. A copy still reading ends with the process.
        if self._done.is_set() and self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None

    def close(self) -> None:
        """Remove what was made for the job (the job has ended, or `run` gives up on it)."""
        self._close_pipe()
        try:
            os.unlink(self.path)
            if self.streaming:
                os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

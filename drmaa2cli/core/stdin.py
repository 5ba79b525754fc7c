"""`drmaa2 run`'s standard input, passed to its job (`echo data | drmaa2 run -- cat`).

A job runs detached from the command that submitted it, so its standard input comes one of three ways:
- a backend whose jobs open their input on this machine when they start (``Backend.local_input``: process)
  gets a named pipe as ``input_path``, fed as the data comes, so `producer | drmaa2 run -- consumer` streams
  (and the job reads its end of file as soon as stdin ends, without waiting for `run` to see it started);
- a backend that can connect to a started job's standard input (``Backend.attaches_stdin``: docker) gets the
  template extension ``stdin`` (the container is created with its input open) and `run` attaches once the
  job has started, streaming too;
- a backend that honours an input file (the schedulers: sbatch --input, qsub -i) gets a copy of all of stdin,
  read to its end before the job is submitted, as the job may start on another machine of the cluster; so do
  array tasks on the process backend (each reads the whole input).
Others (``input_path`` in their ``unsupported_fields``: cf) refuse, rather than the job reading nothing in
silence. Standard input is passed only when it is not a terminal and not /dev/null, and never over --input.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from ..backends import Backend
from ..backends.base import StdinSink
from ..errors import Drmaa2Error, UnsupportedAttribute
from ..files import ensure_private_dir
from ..models import JobInfo, JobState, JobTemplate

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
    """The standard input of one `run`, passed to its job from ``fd``; ``close`` removes what was made."""

    def __init__(self, backend: Backend, home: Path, template: JobTemplate, array: bool, fd: int = 0) -> None:
        """Sets up ``template`` to receive the input. Raises UnsupportedAttribute when ``backend`` cannot give
        the job standard input."""
        self.fd, self.backend = fd, backend
        self.path: str | None = None
        self._keep: int | None = None  # a read end of the named pipe, held by `run` (see below)
        self._sink: StdinSink | None = None  # the attached job's input
        self._done = threading.Event()  # the copy has ended (stdin reached its end, or the job's input broke)
        if backend.attaches_stdin and not array:
            self.mode = "attach"
            template.extension = {**template.extension, "stdin": True}
            return
        if "input_path" in backend.unsupported_fields:
            tasks = " to an array's tasks" if backend.attaches_stdin else " to a job"
            raise UnsupportedAttribute(
                f"the {backend.name} backend cannot pass standard input{tasks}; "
                "run it with </dev/null, or use another backend"
            )
        import tempfile  # ~10 ms with random: only a run with input pays it

        directory = home / "input"
        ensure_private_dir(home)
        ensure_private_dir(directory)
        # Array tasks each read the whole input, as from a file (a pipe would deal it out among them).
        if backend.local_input and not array:
            self.mode = "pipe"
            self.path = os.path.join(tempfile.mkdtemp(dir=directory), "stdin")
            os.mkfifo(self.path, 0o600)
            # A read end held while `run` lives keeps what is written in the pipe even before the job has
            # opened it (a held job, a slow start); the write end is opened before the job exists, so the job
            # never takes an empty pipe for the end of its input, and closed at stdin's end: the job then reads
            # its end of file as soon as it has read the rest, started or not.
            self._keep = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            pipe = os.open(self.path, os.O_WRONLY)
            self._start_copy(lambda data: _write_all(pipe, data), lambda: os.close(pipe))
        else:
            self.mode = "file"
            handle, self.path = tempfile.mkstemp(dir=directory, prefix="stdin-")
            try:
                while chunk := os.read(self.fd, COPY_CHUNK):
                    _write_all(handle, chunk)
            except BaseException:  # Ctrl-C while reading, a broken stdin: no job, no copy left behind
                os.unlink(self.path)
                raise
            finally:
                os.close(handle)
        template.input_path = self.path

    def _start_copy(self, write: Callable[[bytes], None], then: Callable[[], None] | None = None) -> None:
        def copy() -> None:
            try:
                while chunk := os.read(self.fd, COPY_CHUNK):
                    write(chunk)
            except OSError:
                pass  # the job went away (or stdin broke): nothing more to pass
            finally:
                try:
                    if then is not None:
                        then()  # the job's end of file
                except OSError:
                    pass
                self._done.set()

        threading.Thread(target=copy, name="stdin", daemon=True).start()

    def seen(self, jobs: Iterable[JobInfo]) -> None:
        """Called with the job's latest info: once it has started, attach to its input (mode attach)."""
        started = [j for j in jobs if j.state not in NOT_STARTED]
        if started and self.mode == "attach" and self._sink is None and not self._done.is_set():
            job = started[0]
            if job.state.final:
                self._done.set()  # it ended without reading (or needing) its input
                return
            try:
                sink = self._sink = self.backend.attach_stdin(job)
            except Drmaa2Error:
                self._done.set()  # it ended meanwhile, or the engine is gone: the job's own ending tells
                return
            import socket

            self._start_copy(sink.sendall, lambda: sink.shutdown(socket.SHUT_WR))

    def close(self) -> None:
        """Remove what was made for the job (the job has ended, or `run` gives up on it). What a copy still
        under way writes to is left to the end of the process: closing a descriptor another thread writes to
        could let it write into whatever file reuses the number."""
        if self._keep is not None:
            os.close(self._keep)
            self._keep = None
        if self._sink is not None and self._done.is_set():
            self._sink.close()
        if self.path is None:
            return
        try:
            os.unlink(self.path)
            if self.mode == "pipe":
                os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

"""A running container's output as it comes: followed from the engine (``follow``) and, when it is all of it,
kept for the finaliser (``Following``; see files.py for the files)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from ...models import JobInfo
from .engine import Engine, Missing
from .files import JobFiles, write_all
from .finish import container_of
from .http import Stream


class Following:
    """Keeps what a follower of a job's live output receives (files.py describes the files): ``keys`` maps the
    engine's stream numbers (1 stdout, 2 stderr) to the job's files, "out" and "err" ("out" for both when they
    are joined). ``ended`` when the engine ended the stream: the files are then the whole output. Writes that
    fail (a full disk) stop the keeping, not the following."""

    def __init__(self, files: JobFiles, job_id: str, keys: Mapping[int, str]) -> None:
        self.files, self.job_id, self.keys = files, job_id, keys
        self._fds: dict[str, int] | None = {}
        try:
            for key in sorted(set(keys.values())):
                path = files.following_path(job_id, key)
                # Exclusive: a second follower keeps nothing (and a file left by a follower that was killed
                # only means that the finaliser reads the engine's log, as without one).
                self._fds[key] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:
            self.close()

    def write(self, stream: int, data: bytes) -> None:
        if self._fds is None or stream not in self.keys:
            return
        try:
            write_all(self._fds[self.keys[stream]], data)
        except OSError:
            self.close()

    def ended(self) -> None:
        """The stream is over: offer the files to the finaliser (unless it has already finished the job)."""
        if self._fds is None:
            return
        try:
            for key in self._fds:
                os.replace(self.files.following_path(self.job_id, key), self.files.followed_path(self.job_id, key))
        except OSError:
            self.close()
            return
        if self.files.result(self.job_id) is not None:
            self.files.drop_followed(self.job_id)  # finalised from the engine meanwhile
        self._close_fds()

    def close(self) -> None:
        """Stop keeping (the stream broke off, or its reader stopped): what was kept is not the whole output."""
        if self._fds is None:
            return
        for key in self._fds:
            with contextlib.suppress(FileNotFoundError):
                self.files.following_path(self.job_id, key).unlink()
        self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self._fds or {}).values():
            os.close(fd)
        self._fds = None


def follow(engine: Engine, files: JobFiles, job: JobInfo, names: Mapping[int, str], wanted: set[int],
           offsets: Mapping[str, int], attached: Stream | None) -> Iterator[tuple[str, bytes]]:
    """The job's output on the streams ``wanted`` (1 stdout, 2 stderr) as (``names[stream]``, bytes), from
    byte ``offsets[name]`` on: from ``attached`` (``Engine.attach_output``, made before the container started),
    else from the container's log, until the engine ends the stream. When it carries both streams, what comes
    is also kept for the finaliser (``Following``). Raises what the engine raises, but not Missing (the
    container was removed: finalised by another process, whose files hold the rest)."""
    skip = {name: offsets.get(name, 0) for name in names.values()}
    if attached is not None:
        blocks = engine.output_blocks(attached)
        covered = {1, 2}
    else:
        blocks = engine.log_blocks(container_of(job), stdout=1 in wanted, stderr=2 in wanted, follow=True)
        covered = wanted
    keeping = Following(files, job.id, names) if covered == {1, 2} else None
    try:
        for number, data in blocks:
            if keeping is not None:
                keeping.write(number, data)
            if number not in wanted:
                continue
            name = names[number]
            if skip[name]:
                cut, skip[name] = min(skip[name], len(data)), max(0, skip[name] - len(data))
                data = data[cut:]
            if data:
                yield name, data
        if keeping is not None:
            keeping.ended()
    except Missing:
        return  # removed: finalised by another process, whose files hold the rest
    finally:
        if keeping is not None:
            keeping.close()

"""The end of a docker job: from a stopped container (or a missing one) to the job's final result.

Finalising copies the container's logs into the job's output files, then writes the result file, then
removes the container, all under the job's lock: a crash at any point leaves either the container (and
the next refresh starts again) or the result. A result is a small dict of JobInfo fields (``state`` as
its value) plus ``kept`` when the container stays because its output could not be saved.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal as signals
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...errors import Drmaa2Error, InvalidArgument, UnsupportedOperation
from ...models import JobInfo, JobState
from ...procfs import submitter_alive
from .. import ending
from . import accounting
from .engine import Engine, Missing
from .files import JobFiles, copy_output, fill_output, fill_outputs

#: Container states in which the job has not ended ("removing" has: drmaa2 removes a container only after
#: recording its result, and a container removed by someone else is not coming back). Podman shows
#: "stopping" while a stop's signal is being waited on (a job that ignores SIGTERM through its grace period):
#: its exit code is not known yet.
ACTIVE = ("running", "paused", "restarting", "stopping")
#: Seconds between SIGTERM and SIGKILL when a job is terminated without a signal (``docker stop -t``, whole
#: seconds).
GRACE_SECONDS = int(ending.GRACE_SECONDS)


class Finisher:
    """Finalises docker jobs of one drmaa2 home (see the module docstring)."""

    def __init__(self, files: JobFiles) -> None:
        self.files = files

    def finalise(self, engine: Engine, job: JobInfo) -> JobInfo:
        """The job's final info once its container stopped (or never started and never will); the job
        unchanged if the container runs again. Raises BackendUnavailable if the engine cannot be asked."""
        name = container_of(job)
        with self.files.lock(job.id):
            result = self.files.result(job.id)
            if result is None:
                try:
                    info = engine.inspect(name)
                except Missing:
                    return self.vanished(job)
                if info["State"]["Status"] in ACTIVE:
                    return job
                info = self._settled(engine, name, info)
                result = self._result(job, info)
                if job.backend_data.get("cgroup"):
                    result.update(accounting.figures(job.backend_data["cgroup"]))
                if info["State"]["Status"] != "created":
                    problem = self._save_output(engine, job)
                    if problem:
                        result["annotation"] = f"{result.get('annotation') or 'ended'}; {problem}"
                        result["kept"] = True
                    missed = stage_out(engine, job)
                    if missed:
                        result["annotation"] = f"{result.get('annotation') or 'ended'}; {missed}"
                self.files.write_result(job.id, result)
            self.files.drop_followed(job.id)
            if not result.get("kept"):
                # A container left behind does no harm (the result is read first); cleanup removes it.
                with contextlib.suppress(Drmaa2Error):
                    engine.remove(name)
                    if job.backend_data.get("cgroup"):
                        accounting.remove(job.backend_data["cgroup"])
            self.files.record_kill(job.id, None)
            self.files.drop_lock(job.id)
        return ending.with_result(job, result)

    def _settled(self, engine: Engine, name: str, info: dict[str, Any]) -> dict[str, Any]:
        """``info`` once the engine has had its say on memory: a container that a SIGKILL ended under a memory
        limit may be marked OOMKilled a moment after it stopped (the kernel's OOM event arrives after the exit,
        seen on cgroup v1), so it is asked again a few times, for up to ~1 s, before the result is written."""
        state = info["State"]
        limited = bool((info.get("HostConfig") or {}).get("Memory"))
        if not limited or state.get("OOMKilled") or state.get("ExitCode") != 128 + signals.SIGKILL:
            return info
        for _ in range(5):
            time.sleep(0.2)
            with contextlib.suppress(Drmaa2Error):
                info = engine.inspect(name)
            if info["State"].get("OOMKilled"):
                break
        return info

    def vanished(self, job: JobInfo) -> JobInfo:
        """No container by the job's name: finalised meanwhile by another process, still being created,
        never created (the submitter died first), or removed behind drmaa2's back."""
        result = self.files.result(job.id)
        if result is not None:
            return ending.with_result(job, result)
        if job.dispatch_time is None and submitter_alive(job):
            return job
        if job.backend_data.get("cgroup"):
            accounting.remove(job.backend_data["cgroup"])
        name = container_of(job)
        return job.evolve(
            state=JobState.FAILED,
            finish_time=time.time(),
            annotation=(
                f"no container {name} on the engine: never created, or removed outside drmaa2"
                if job.dispatch_time is None
                else f"container {name} was removed outside drmaa2; its exit status is unknown"
            ),
        )

    def start_failed(self, engine: Engine, job: JobInfo, error: Drmaa2Error) -> dict[str, Any]:
        """The result of a container the engine could not start (a missing command without init): its
        exit code (127, 126), as a shell would give it. The container is removed."""
        code = None
        with contextlib.suppress(Drmaa2Error):
            code = engine.inspect(container_of(job))["State"].get("ExitCode") or None
            engine.remove(container_of(job))
        if code is None:
            # Podman records no exit code for a container its runtime could not start: read the runtime's words.
            text = str(error).lower()
            code = 127 if "not found" in text or "no such file" in text else 126 if "permission denied" in text \
                else None
        return {
            "state": "failed",
            "exit_status": code,
            "annotation": f"cannot start: {error}",
            "finish_time": time.time(),
        }

    def _result(self, job: JobInfo, info: dict[str, Any]) -> dict[str, Any]:
        st = info["State"]
        code, error = st.get("ExitCode"), st.get("Error") or ""
        started = epoch(st.get("StartedAt"))
        finished = epoch(st.get("FinishedAt")) or time.time()
        result: dict[str, Any] = {
            "state": "failed",
            "exit_status": None,
            "signal": None,
            "dispatch_time": started,
            # The engine stamps a very short container's start after its end (by a millisecond or so).
            "finish_time": finished if started is None else max(started, finished),
        }
        sent = self.files.kill_signal(job.id)
        killed = ending.killed_by(sent, code)
        if st["Status"] == "created":
            why = error or "its submitter exited before starting it"
            result.update(annotation=f"never started: {why}", exit_status=code or None)
        elif st.get("OOMKilled") and code == 128 + signals.SIGKILL:
            limit = (info.get("HostConfig") or {}).get("Memory") or 0
            detail = f" (memory limit {limit // 2**20} MiB)" if limit else ""
            result.update(signal=int(signals.SIGKILL), annotation=f"OOM killed{detail}")
        elif sent in ("timeout", "overdue"):
            result.update(signal=killed, exit_status=None if killed else code)
            result["annotation"] = ending.timed_out(job.template.timeout, killed, escalated=sent == "timeout")
            if killed is None and code == 0:
                result["state"] = "done"  # it handled SIGTERM and chose success, as a process may
        elif killed is not None:
            # Stopped, not killed with --signal KILL: SIGKILL came only after SIGTERM did nothing.
            result.update(signal=killed, annotation=ending.killed(killed, escalated=sent == "stop"))
        elif st["Status"] == "dead":
            result.update(exit_status=code, annotation=f"the container died: {error or 'engine error'}")
        else:
            result.update(ending.of_exit_code(code, oom=bool(st.get("OOMKilled")), error=error))
        return result

    def _save_output(self, engine: Engine, job: JobInfo) -> str | None:
        """Copy the container's logs into the job's files; the reason if that failed for good. Errors that
        may pass (an unreachable engine) propagate, so that a later refresh tries again."""
        out, err, name = job.output_path, job.error_path, container_of(job)
        # Both streams from one read of the log: the engine decodes every line of it for each request.
        paths = {stream: path for stream, path in ((1, out), (2, err)) if path}
        try:
            followed = self._followed(engine, job) if paths else None
            if followed is not None:
                for key, source in followed.items():
                    copy_output(str(out if key == "out" else err), source)
            elif paths:
                fill_outputs(paths, engine.log_blocks(name, stdout=1 in paths, stderr=2 in paths))
        except OSError as e:
            return f"output not saved ({e.filename}: {e.strerror}), container {name} kept"
        except (UnsupportedOperation, InvalidArgument, Missing) as e:
            return f"output not saved ({e}), container {name} kept"
        return None


    def _followed(self, engine: Engine, job: JobInfo) -> dict[str, Path] | None:
        """The job's whole output as a follower kept it (files.py), when there is one for each of its files and
        it ends as the engine's log does: a stream the engine broke off (it was restarted) is not whole."""
        joined = job.output_path == job.error_path
        keys = [key for key, path in (("out", job.output_path), ("err", job.error_path)) if path]
        sources = {key: self.files.followed_path(job.id, key) for key in (["out"] if joined else keys)}
        if not all(source.exists() for source in sources.values()):
            return None
        for key, source in sources.items():
            last = b"".join(engine.logs(container_of(job), stdout=joined or key == "out",
                                        stderr=joined or key == "err", tail=1))
            with open(source, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < len(last):
                    return None
                f.seek(size - len(last))
                if f.read() != last:
                    return None
        return sources


def stage_out(engine: Engine, job: JobInfo) -> str | None:
    """Copy the template's stage-out files from the stopped container to this machine (mode 0600); what
    could not be copied, or None. Errors that may pass (an unreachable engine) propagate, as for the output."""
    missed = []
    for host, inside in job.template.stage_out_files.items():
        try:
            with engine.archive(container_of(job), inside) as body, \
                    tarfile.open(fileobj=body, mode="r|") as tar:  # type: ignore[call-overload]
                member = tar.next()
                if member is None or not member.isfile():
                    missed.append(f"{inside} is not a file")
                    continue
                source = tar.extractfile(member)
                assert source is not None
                fill_output(host, iter(functools.partial(source.read, 1 << 16), b""))
        except Missing:
            missed.append(f"{inside} does not exist")
        except (tarfile.TarError, OSError, InvalidArgument) as e:
            missed.append(f"{inside}: {getattr(e, 'strerror', None) or e}")
    return f"not staged out: {'; '.join(missed)}" if missed else None



def container_of(job: JobInfo) -> str:
    return str(job.backend_data.get("container") or job.native_id)


def epoch(stamp: str | None) -> float | None:
    """Seconds since the epoch of the engine's RFC 3339 time (nanoseconds, UTC); None for its zero time."""
    if not stamp or stamp.startswith("0001-"):
        return None
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    digits = "".join(c for c in fraction[:9] if c.isdigit())
    seconds = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return seconds + (int(digits) / 10 ** len(digits) if digits else 0.0)

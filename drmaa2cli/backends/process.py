"""OS processes on this machine, each supervised by a small detached shepherd (``_shepherd/shepherd.py``).

The shepherd, not the CLI, waits for the job and writes its exit status, signal and rusage to
``HOME/run/ID.exit``; any later ``drmaa2`` reads it. Processes are identified by pid *and* their
/proc start time, so a reused pid is never mistaken for the job or its shepherd.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal as signals
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, InvalidState
from ..models import JobInfo, JobState, JobTemplate
from ..store import ensure_private_dir
from .base import Backend, BackendContext, Launch

SHEPHERD_DIR = str(Path(__file__).resolve().parent.parent / "_shepherd")
# -I -S: no site-packages, no user environment: the shepherd needs the standard library only.
BOOT = f"import sys; sys.path.insert(0, {SHEPHERD_DIR!r}); import shepherd; shepherd.main()"
GRACE_SECONDS = 5.0


def proc_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2 :].split()[0].decode()


def alive(pid: int | None, start: int | None) -> bool:
    return pid is not None and start is not None and proc_start(pid) == start


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class ProcessLaunch(Launch):
    """A shepherd already started (it boots while the record is committed), waiting for its spec."""

    def __init__(self, backend: ProcessBackend, template: JobTemplate) -> None:
        self.backend = backend
        self.template = template
        read_fd, self.pipe = os.pipe()
        try:
            self.pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", "-c", BOOT],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read_fd, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
                setsid=True,
            )
        finally:
            os.close(read_fd)
        self.start_ticks = proc_start(self.pid)
        self.spec: dict[str, Any] = {}

    def bind(self, job: JobInfo) -> None:
        ctx = self.backend.ctx
        t = self.template
        out = t.output_path or ctx.default_output(job.id, "out")
        err = out if t.join_files else (t.error_path or ctx.default_output(job.id, "err"))
        job.output_path, job.error_path = out, err
        job.machine = socket.gethostname()
        job.backend_data = {"shepherd": self.pid, "shepherd_start": self.start_ticks}
        env = dict(t.job_environment)
        env.update(DRMAA2_JOB_ID=job.id, DRMAA2_SESSION=job.session)
        self.spec = {
            "id": job.id,
            "argv": t.argv,
            "env": env,
            "cwd": t.working_directory,
            "stdin": t.input_path,
            "stdout": out,
            "stderr": err,
            "timeout": t.timeout,
            "grace": GRACE_SECONDS,
            "run_dir": str(self.backend.run_dir),
        }

    def start(self, job: JobInfo) -> JobInfo | None:
        try:
            os.write(self.pipe, json.dumps(self.spec).encode())
        finally:
            os.close(self.pipe)
        return None

    def abort(self) -> None:
        os.close(self.pipe)  # EOF without a spec: the shepherd exits and starts nothing


class ProcessBackend(Backend):
    """Jobs as OS processes on this machine (the default backend)."""

    name = "process"
    unsupported_fields = ("job_category", "queue_name", "resource_limits", "stage_in_files")

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.run_dir = ctx.home / "run"

    def prepare(self, template: JobTemplate) -> Launch:
        self.check_template(template)
        for key in ("user", "pull", "native"):
            if template.extension.get(key):
                raise InvalidArgument(f"the process backend cannot honour --{key}")
        cwd = template.working_directory
        if cwd and not os.path.isdir(cwd):
            raise InvalidArgument(f"working directory {cwd} does not exist")
        if template.input_path and not os.path.isfile(template.input_path):
            raise InvalidArgument(f"input file {template.input_path} does not exist")
        for path in (template.output_path, template.error_path):
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise InvalidArgument(f"the directory for output file {path} does not exist")
        for d in (self.ctx.home, self.run_dir, self.ctx.output_dir):
            ensure_private_dir(d)
        return ProcessLaunch(self, template)

    # --- observation ----------------------------------------------------------------------------------
    def _files(self, job: JobInfo) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return _read_json(self.run_dir / f"{job.id}.start"), _read_json(self.run_dir / f"{job.id}.exit")

    def _observe(self, job: JobInfo) -> JobInfo:
        started, ended = self._files(job)
        data = job.backend_data
        shepherd_alive = alive(data.get("shepherd"), data.get("shepherd_start"))
        if ended is None and not shepherd_alive:
            # The shepherd may have written the exit file just before it died: look again.
            started, ended = self._files(job)
        changes: dict[str, Any] = {}
        if started is not None:
            changes.update(native_id=str(started["pid"]), dispatch_time=started.get("dispatch_time"))
            changes["backend_data"] = {**data, "pid": started["pid"], "proc_start": started.get("proc_start")}
        if ended is not None:
            code, sig = ended.get("exit_status"), ended.get("signal")
            changes.update(
                state=JobState.DONE if code == 0 and sig is None else JobState.FAILED,
                exit_status=code,
                signal=sig,
                annotation=ended.get("annotation"),
                finish_time=ended.get("finish_time"),
                cpu_time=ended.get("cpu_time"),
                max_rss=ended.get("max_rss"),
            )
        elif started is not None:
            job_alive = alive(started["pid"], started.get("proc_start"))
            if shepherd_alive and job_alive:
                suspended = proc_state(started["pid"]) in ("T", "t")
                changes.update(state=JobState.SUSPENDED if suspended else JobState.RUNNING)
            elif job_alive:
                changes.update(
                    state=JobState.RUNNING,
                    annotation="supervisor lost: the exit status will not be known",
                )
            else:
                changes.update(
                    state=JobState.FAILED,
                    finish_time=time.time(),
                    annotation="exit status unknown: the job's supervisor died",
                )
        elif shepherd_alive:
            changes.update(state=JobState.QUEUED)
        else:
            # The shepherd exists from before the record is committed, so a dead one with no start file
            # never started the job: the submitter died before handing it over.
            changes.update(
                state=JobState.FAILED,
                finish_time=time.time(),
                annotation="never started: its supervisor exited before starting it",
            )
        return job.evolve(**changes)

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        changed = []
        for job in jobs:
            new = self._observe(job)
            if new != job:
                changed.append(new)
        return changed

    def _watch_pid(self, job: JobInfo) -> int | None:
        data = job.backend_data
        if alive(data.get("shepherd"), data.get("shepherd_start")):
            return int(data["shepherd"])
        started, _ = self._files(job)
        if started and alive(started["pid"], started.get("proc_start")):
            return int(started["pid"])
        return None

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        fds = []
        try:
            for job in jobs:
                pid = self._watch_pid(job)
                if pid is None:
                    return  # already gone: the caller's refresh will see the end
                try:
                    fds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    return
            poller = select.poll()
            for fd in fds:
                poller.register(fd, select.POLLIN)
            poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
        finally:
            for fd in fds:
                os.close(fd)

    # --- control --------------------------------------------------------------------------------------
    def _live_job(self, job: JobInfo) -> tuple[bool, int | None]:
        """(shepherd alive, pid of the running job or None)."""
        data = job.backend_data
        started, ended = self._files(job)
        if ended is not None:
            raise InvalidState(f"job {job.id} has already ended")
        pid = started["pid"] if started and alive(started["pid"], started.get("proc_start")) else None
        return alive(data.get("shepherd"), data.get("shepherd_start")), pid

    def terminate(self, job: JobInfo, signal: int | None) -> None:
        shepherd_alive, pid = self._live_job(job)
        if shepherd_alive:
            request = self.run_dir / f"{job.id}.kill"
            fd = os.open(request, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"signal": signal}, f)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(job.backend_data["shepherd"]), signals.SIGUSR1)
        elif pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal or signals.SIGKILL)

    def _signal_group(self, job: JobInfo, sig: int) -> None:
        _, pid = self._live_job(job)
        if pid is None:
            raise InvalidState(f"job {job.id} is not running")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)

    def suspend(self, job: JobInfo) -> None:
        self._signal_group(job, signals.SIGSTOP)

    def resume(self, job: JobInfo) -> None:
        self._signal_group(job, signals.SIGCONT)

    def cleanup(self, job: JobInfo) -> None:
        for suffix in (".start", ".exit", ".kill"):
            with contextlib.suppress(OSError):
                (self.run_dir / f"{job.id}{suffix}").unlink()

"""What the Slurm and Grid Engine backends share: the job wrapper script, running client commands, array and
dependency specs, path placeholders, wait-status decoding and polite polling.

Both schedulers take the job as a script on the submit command's stdin. The script ``exec``s the command with
every argument quoted for ``/bin/sh``, so the command and its arguments reach the job byte for byte and the
scheduler sees the command's own exit status or signal (no shell in between once it runs).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shlex
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from ... import files
from ...errors import BackendUnavailable, InvalidArgument, InvalidState
from ...files import fill_placeholders, write_atomically
from ...models import ArraySpec, JobInfo, JobState, JobTemplate
from .. import ending
from ..base import BackendContext, Launch
from . import NATIVE_ID

#: Stands for the task index in output/error/input path patterns of an array (NUL never occurs in a path);
#: each scheduler's builder turns it into its own token (Slurm ``%a``, Grid Engine ``$TASK_ID``).
TASK_MARK = "\x00TASK\x00"

#: Seconds a client command (sbatch, squeue, qsub, qstat ...) may take before the scheduler counts as
#: not answering.
COMMAND_TIMEOUT = 30.0

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class After:
    """Dependencies by native id, for the build functions: ``mode`` is "ok" or "any"."""

    native_ids: list[str]
    mode: str = "ok"
    #: drmaa2's ids of the same jobs, kept in the dependent job's record for the words of its failure.
    ids: list[str] = field(default_factory=list)


#: Seconds between drmaa2's SIGTERM (kill, timeout) and its SIGKILL, as on the process and docker backends.
GRACE_SECONDS = int(ending.GRACE_SECONDS)
#: How often the job's watcher looks for a kill request and at the clock (see ``job_script``).
WATCH_TICK = 0.5
#: The scheduler's own time limit is the timeout plus the grace plus this: a backstop that ends the job
#: should its watcher not (the watcher enforces the timeout itself).
BACKSTOP_SECONDS = 30
#: A kill request older than the grace plus this, of a job still active, is carried out by the scheduler
#: instead (its watcher cannot see the request: no shared file system, or it died).
FALLBACK_SECONDS = GRACE_SECONDS + 10


@dataclass(frozen=True)
class JobSpec:
    """What the wrapper script needs: our job id, the session, the command and the extra environment.

    ``job_id`` is our job number; ``task_var`` names the scheduler's task-index variable for an array
    (SLURM_ARRAY_TASK_ID, SGE_TASK_ID), which the script exports as DRMAA2_TASK_ID. ``control`` is the path
    prefix of the job's control files (``control_prefix``; for an array without the task index, which the
    script appends) and ``timeout`` the run time after which the watcher ends the job.
    """

    job_id: str
    session: str
    argv: list[str]
    environment: Mapping[str, str] = field(default_factory=dict)
    task_var: str | None = None
    control: str | None = None
    timeout: float | None = None
    #: Shell words naming the job's own output files, made 0600 before the command runs: the files a
    #: scheduler names itself (``NATIVE_ID``) and creates with its daemon's umask (Grid Engine's 022).
    private: tuple[str, ...] = ()
    #: The umask the command runs with, when the scheduler was given another to create its files with.
    umask: int | None = None


def control_prefix(ctx: BackendContext, job_id: str) -> str:
    """Where a job's control files live: PREFIX.kill (drmaa2 kill's request: "15" or "9", written here) and
    PREFIX.end (what the job's watcher did: "kill" or "timeout", "... 9" once it had to send SIGKILL). In
    the output directory, which the nodes must see anyway for the default output files."""
    return str(ctx.output_dir / job_id)


# The watcher, run in the background before the script execs the command, so that the command keeps the
# job's pid and the scheduler reports its exact exit status or signal. It ignores SIGTERM and signals the
# job's whole process group (kill 0: the job and everything it started, as the process backend's killpg;
# both schedulers give each job a process group of its own), and sends SIGKILL to that group (itself
# included) GRACE seconds later if the command outlived SIGTERM. It notes what it did in PREFIX.end
# before signalling, so that drmaa2 can tell a kill or timeout from any other death by that signal. It
# counts ticks rather than asking `date` each time; its clock is checked every 20 ticks so that a long
# timeout does not drift by the cost of the ticks. Tolerance: the timeout is enforced within about a
# tick (0.5 s) of its time.
_WATCHER = """\
( trap '' TERM
  _d2_job=$$ _d2_cause= _d2_sig=15 _d2_n=0 _d2_start=$(date +%s 2>/dev/null)
  while kill -0 "$_d2_job" 2>/dev/null; do
    if [ -s "$_d2.kill" ]; then _d2_cause=kill; read -r _d2_sig < "$_d2.kill"; break; fi
    if [ -n "$_d2_ticks" ] && [ "$_d2_n" -ge "$_d2_ticks" ]; then _d2_cause=timeout; break; fi
    sleep TICK 2>/dev/null || sleep 1
    _d2_n=$((_d2_n + 1))
    if [ -n "$_d2_start" ] && [ $((_d2_n % 20)) = 0 ]; then
      _d2_now=$(date +%s 2>/dev/null) && _d2_n=$(( (_d2_now - _d2_start) * TPS ))
    fi
  done
  [ -n "$_d2_cause" ] || exit 0
  if [ "$_d2_sig" = 9 ]; then
    (umask 077; echo "$_d2_cause 9" > "$_d2.end"); kill -KILL 0
  fi
  (umask 077; echo "$_d2_cause" > "$_d2.end")
  kill -TERM 0
  _d2_n=0
  while kill -0 "$_d2_job" 2>/dev/null && [ "$_d2_n" -lt GRACE_TICKS ]; do
    sleep TICK 2>/dev/null || sleep 1
    _d2_n=$((_d2_n + 1))
  done
  if kill -0 "$_d2_job" 2>/dev/null; then
    (umask 077; echo "$_d2_cause 9" > "$_d2.end"); kill -KILL 0
  fi
) </dev/null >/dev/null 2>&1 &
"""


def watcher() -> str:
    tps = round(1 / WATCH_TICK)
    return (_WATCHER.replace("GRACE_TICKS", str(GRACE_SECONDS * tps)).replace("TPS", str(tps))
            .replace("TICK", f"{WATCH_TICK:g}"))


@dataclass(frozen=True)
class Paths:
    """Where a job runs and where its streams go, all absolute; ``error`` None joins stderr into ``output``.
    In an array's paths ``TASK_MARK`` stands for the task index."""

    working_dir: str
    output: str
    error: str | None
    input: str | None = None


def check_array(array: ArraySpec) -> None:
    """Raises InvalidArgument for an empty or malformed index range."""
    if array.first < 0 or array.last < array.first or array.step < 1:
        raise InvalidArgument(
            f"bad array range {array.first}-{array.last}:{array.step} (need 0 <= first <= last, step >= 1)"
        )
    if array.max_parallel is not None and array.max_parallel < 1:
        raise InvalidArgument("the array's parallel limit must be at least 1")


def check_after(after: After) -> None:
    """Raises InvalidArgument for an unknown mode or an empty dependency list."""
    if after.mode not in ("ok", "any"):
        raise InvalidArgument(f"unknown dependency mode {after.mode!r} (ok or any)")
    if not after.native_ids:
        raise InvalidArgument("a dependency needs at least one job")


def job_script(spec: JobSpec) -> bytes:
    """The ``/bin/sh`` script a scheduler runs: exports, then ``exec`` of the exact command.

    Raises InvalidArgument for an environment variable name that a shell cannot export.
    """
    lines = ["#!/bin/sh", f"# drmaa2 job {spec.job_id} (session {spec.session})"]
    for name, value in spec.environment.items():
        if not _ENV_NAME.match(name):
            raise InvalidArgument(f"environment variable name {name!r} is not valid for a batch job")
        lines.append(f"export {name}={shlex.quote(value)}")
    # The same variables as base.job_variables gives every backend's jobs.
    lines.append(f"export DRMAA2_JOB_ID={shlex.quote(spec.job_id)}")
    if spec.task_var is not None:
        lines.append(f'DRMAA2_TASK_ID="${spec.task_var}"; export DRMAA2_TASK_ID')
    lines.append(f"export DRMAA2_SESSION={shlex.quote(spec.session)}")
    for word in spec.private:  # a regular file only: never /dev/null or a FIFO the job was given
        lines.append(f'[ -f {word} ] && [ ! -L {word} ] && chmod 600 {word} 2>/dev/null')
    if spec.umask is not None:
        lines.append(f"umask {spec.umask:04o}")
    if spec.control is not None:
        # Shell variables, not exported: the command does not see them.
        prefix = shlex.quote(spec.control)
        lines.append(f'_d2={prefix}."$DRMAA2_TASK_ID"' if spec.task_var is not None else f"_d2={prefix}")
        ticks = "" if spec.timeout is None else str(math.ceil(spec.timeout / WATCH_TICK))
        lines.append(f"_d2_ticks={ticks}")
        lines.append(watcher().rstrip("\n"))
    lines.append("exec " + " ".join(shlex.quote(a) for a in spec.argv))
    # surrogateescape: arguments that came in as undecodable bytes leave as the same bytes.
    return os.fsencode("\n".join(lines) + "\n")


def absolute(path: str, cwd: str) -> str:
    """``path`` made absolute against the job's working directory (``/dev/null`` and friends unchanged)."""
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))


def run(
    argv: Sequence[str], env: Mapping[str, str], stdin: bytes | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one client command and return its result whatever its exit status.

    Raises BackendUnavailable when the command is missing or does not answer within COMMAND_TIMEOUT.
    """
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            env=dict(env),
            cwd=cwd,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as e:
        raise BackendUnavailable(f"{argv[0]} not found: the scheduler client is not installed") from e
    except PermissionError as e:
        raise BackendUnavailable(f"{argv[0]} cannot be run: {e.strerror}") from e
    except subprocess.TimeoutExpired as e:
        raise BackendUnavailable(f"{argv[0]} did not answer within {COMMAND_TIMEOUT:.0f} s") from e
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        os.fsdecode(proc.stdout or b""),
        os.fsdecode(proc.stderr or b""),
    )


def message(proc: subprocess.CompletedProcess[str]) -> str:
    """The command's complaint whole, as one line: every non-empty line of its stderr (else of its stdout)
    joined by " | " (a scheduler often says what is wrong on one line and why on another; qsub's closing
    "Exiting." says nothing)."""
    for text in (proc.stderr, proc.stdout):
        lines = [line.strip() for line in text.splitlines() if line.strip() not in ("", "Exiting.")]
        if lines:
            return " | ".join(lines)
    return f"exit status {proc.returncode}"


def describe_exit(exit_status: int | None, signal: int | None) -> str | None:
    """The annotation for how a job ended: "exited with status 3", "killed by signal 9 (SIGKILL)"."""
    if signal is not None:
        return ending.by_signal(signal)
    if exit_status:
        return ending.exited(exit_status)
    return None  # success needs no words, as on every backend


def decode_wait_status(status: int) -> tuple[int | None, int | None]:
    """(exit status, signal) from a raw wait(2) status as Slurm reports it (768 = exit 3, 9 = SIGKILL).
    (None, None) for what no process can have ended with: Slurm puts its own error codes there when a job
    could not be launched (4021 for a missing output directory)."""
    if status & 0x7F == 0:
        return (status >> 8) & 0xFF, None
    if status & 0xFF == 0x7F or status >> 8:  # stopped, not ended; or not a wait status at all
        return None, None
    return None, status & 0x7F


def local_time(text: str, fmt: str) -> float | None:
    """Epoch seconds of a scheduler timestamp in the local time zone; None for "N/A", "Unknown" and such."""
    try:
        return datetime.strptime(text.strip(), fmt).timestamp()
    except ValueError:
        return None


def backoff(first: float = 0.05, factor: float = 1.3, ceiling: float = 1.0) -> Iterator[float]:
    """Poll intervals for schedulers without events: ~50 ms at first, growing to about a second."""
    delay = first
    while True:
        yield delay
        delay = min(ceiling, delay * factor)


def poll_until(check: Callable[[], bool], timeout: float | None) -> None:
    """Pause, then call ``check``, with growing pauses, until it returns True or ``timeout`` seconds passed.
    It pauses first because callers (the core's wait loop) have just asked the scheduler themselves."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for delay in backoff():
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            delay = min(delay, remaining)
        time.sleep(delay)
        if check():
            return


def resource_int(limits: Mapping[str, object], key: str) -> int | None:
    """A positive whole-number resource limit (memory_mb, disk_mb, cpus), rounded up; None when unset."""
    value = limits.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or value <= 0:
        raise InvalidArgument(f"resource limit {key} must be a positive number")
    return int(-(-value // 1))


def native_options(template: JobTemplate) -> list[str]:
    """``template.extension["native"]``: extra scheduler options, passed as they are."""
    native = template.extension.get("native") or []
    if not isinstance(native, list) or not all(isinstance(a, str) for a in native):
        raise InvalidArgument("native options must be a list of strings")
    return list(native)


def submitted_id(text: str, separator: str, program: str) -> str:
    """The job id that starts the last line a submit command printed, up to ``separator``. Raises
    InvalidArgument when there is none."""
    line = text.strip().splitlines()[-1] if text.strip() else ""
    native = line.split(separator, 1)[0].strip()
    if not native.isdigit():
        raise InvalidArgument(f"{program} printed no job id: {text.strip()!r}")
    return native


def time_limit_seconds(timeout: float | None) -> int | None:
    """The scheduler's own time limit for a job with ``timeout``: a backstop past the job's watcher, which
    enforces the timeout itself (Slurm's limits have minute granularity and are checked every 30 s; Grid
    Engine's h_rt kills with SIGKILL at once), so the limit leaves room for the grace period."""
    if timeout is None:
        return None
    if timeout <= 0:
        raise InvalidArgument("the timeout must be positive")
    return int(-(-timeout // 1)) + GRACE_SECONDS + BACKSTOP_SECONDS


def times_in_order(job: JobInfo) -> JobInfo:
    """``job`` with submission <= dispatch <= finish time. Slurm and Grid Engine report whole seconds while
    drmaa2 records the submission to the microsecond, so a job that started within the second it was
    submitted would seem to have started before it; such times are moved up to the one before them."""
    dispatch, finish = job.dispatch_time, job.finish_time
    if dispatch is not None and job.submission_time is not None:
        dispatch = max(dispatch, job.submission_time)
    if finish is not None:
        earliest = dispatch if dispatch is not None else job.submission_time
        if earliest is not None:
            finish = max(finish, earliest)
    if (dispatch, finish) == (job.dispatch_time, job.finish_time):
        return job
    return job.evolve(dispatch_time=dispatch, finish_time=finish)


def read_control(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def write_control(path: str, text: str) -> None:
    """Write a control file 0600, whole or not at all (the watcher reads it any moment)."""
    write_atomically(path, text.encode(), durable=False)  # it matters only while the job runs


def how_it_ended(job: JobInfo, prefix: str) -> JobInfo:
    """An ended job with what drmaa2 did to it, from its control files (``control_prefix``): "timed out
    after 3s", "killed by drmaa2 kill (SIGTERM)", "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored
    for 5s)", and the signal that really ended it. Jobs drmaa2 did not kill or time out are unchanged."""
    ended = read_control(prefix + ".end")
    requested = read_control(prefix + ".kill")
    if ended is None and requested is None:
        return job
    cause, _, escalated = (ended or "kill").partition(" ")
    exit_status, sig = job.exit_status, job.signal
    if sig is None and exit_status is not None and exit_status > 128 and ended is not None:
        # Grid Engine reports a job that a signal ended as exit status 128+N; after the watcher signalled
        # it, that is what happened.
        sig, exit_status = exit_status - 128, None
    if escalated == "9" and sig is None and exit_status is None:
        sig = 9
    if sig is None and exit_status is None:
        if requested is not None and job.dispatch_time is None:
            # Cancelled while pending because drmaa2 kill asked: said as on every backend.
            return job.evolve(state=JobState.FAILED, annotation=ending.KILLED_BEFORE_START)
        return job  # it never ran, and not through drmaa2: the scheduler's account stands
    if cause == "timeout":
        why = ending.timed_out(job.template.timeout, sig, escalated=escalated == "9")
    else:
        # The signal that ended it, or (it handled the signal and exited) the one drmaa2 sent.
        sent = 9 if requested == "9" else 15
        why = ending.killed(sig if sig is not None else sent, escalated=escalated == "9" and requested != "9")
    state = JobState.DONE if exit_status == 0 and sig is None else JobState.FAILED
    return job.evolve(state=state, exit_status=exit_status, signal=sig, annotation=why)


#: The JobInfo fields a scheduler reports about a job that has ended.
OBSERVED = ("state", "annotation", "exit_status", "signal", "dispatch_time", "finish_time", "cpu_time", "max_rss",
            "machine")


class EndedCache:
    """What an earlier refresh of this backend object (wait_any's, typically) found about jobs that ended.
    A final state never changes, so the next refresh hands it out without asking the scheduler again."""

    def __init__(self) -> None:
        self._ended: dict[tuple[str, str | None], dict[str, object]] = {}

    def split(self, jobs: Sequence[JobInfo]) -> tuple[list[JobInfo], list[JobInfo]]:
        """(jobs known to have ended, updated; the others)."""
        known, rest = [], []
        for job in jobs:
            fields = self._ended.get((job.id, job.native_id))
            if fields is None:
                rest.append(job)
            else:
                known.append(job.evolve(**fields))
        return known, rest

    def remember(self, jobs: Sequence[JobInfo]) -> None:
        for job in jobs:
            if job.state.final:
                self._ended[(job.id, job.native_id)] = {f: getattr(job, f) for f in OBSERVED}


def check_local_paths(ctx: BackendContext, paths: Paths) -> None:
    """Refuse a working directory or an output directory that does not exist here, before the scheduler
    does something worse with it (Slurm runs the job in /tmp instead; Grid Engine parks it in error state).
    Raises InvalidArgument."""
    if not os.path.isdir(paths.working_dir):
        raise InvalidArgument(f"working directory {paths.working_dir} does not exist")
    own = str(ctx.output_dir)
    for path in (paths.output, paths.error):
        parent = os.path.dirname(path or "")
        if "%" in parent or "$" in parent or parent.startswith(own):
            continue  # placeholders (checked by the scheduler), or our own directory (made at submit)
        if parent and not os.path.isdir(parent):
            raise InvalidArgument(f"directory {parent} for the job's output does not exist")


def job_paths(ctx: BackendContext, template: JobTemplate, job_id: str, cwd: str) -> Paths:
    """Absolute working directory and stream paths; defaults in the drmaa2 home's output directory."""
    out, err, inp = template.output_path, template.error_path, template.input_path
    return Paths(
        working_dir=cwd,
        output=absolute(out, cwd) if out else ctx.default_output(job_id, "out"),
        error=None if template.join_files
        else absolute(err, cwd) if err
        else ctx.default_output(job_id, "err"),
        input=absolute(inp, cwd) if inp else None,
    )


def create_private(paths: Iterable[str | None]) -> None:
    """``files.create_private``, but for a path named by the scheduler's id (``NATIVE_ID``), which waits for
    ``claim_private``."""
    files.create_private(p for p in paths if p and NATIVE_ID not in p)


def claim_private(paths: Iterable[str | None]) -> None:
    """Make the files the scheduler names itself (their names known once it gave the job's id) exist 0600,
    as ``create_private`` does before submission -- without emptying them: the job may be writing to them
    already. Only a regular file of this user's is changed (never /dev/null)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW
    for path in dict.fromkeys(p for p in paths if p):
        with contextlib.suppress(OSError):
            fd = os.open(path, flags, 0o600)
            try:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o077:
                    os.fchmod(fd, 0o600)
            finally:
                os.close(fd)


def own_names(paths: Paths) -> bool:
    """Whether the scheduler names one of the job's files itself (``NATIVE_ID``)."""
    return any(NATIVE_ID in (p or "") for p in (paths.output, paths.error))


def named(job: JobInfo, native: str) -> JobInfo:
    """``job`` with its scheduler id ``native`` in the paths the scheduler named (``NATIVE_ID``), the files
    made private (``claim_private``)."""
    out, err = (None if p is None else p.replace(NATIVE_ID, native) for p in (job.output_path, job.error_path))
    if (out, err) == (job.output_path, job.error_path):
        return job.evolve(native_id=native)
    claim_private(p for p, old in ((out, job.output_path), (err, job.error_path)) if p != old)
    return job.evolve(native_id=native, output_path=out, error_path=err)


class Submitter(Protocol):
    """What ``ScriptLaunch`` needs from a scheduler backend."""

    ctx: BackendContext
    #: The scheduler's task-index variable (SLURM_ARRAY_TASK_ID, SGE_TASK_ID).
    task_var: str

    def submit(
        self, template: JobTemplate, paths: Paths, spec: JobSpec, array: ArraySpec | None, after: After | None
    ) -> str: ...

    def task_native_id(self, native_id: str, index: int) -> str: ...


#: The one state a scheduler suspends or resumes a job from, and what a job in any other state is told.
_CONTROL_FROM = {"suspend": (JobState.RUNNING, "only running jobs can be suspended"),
                 "resume": (JobState.SUSPENDED, "only suspended jobs can be resumed")}


def check_control(job: JobInfo, action: str) -> None:
    """Raise InvalidState unless ``job`` is in the state ``action`` ("suspend", "resume") applies to: a
    scheduler's own answer to a job in another state would be its error, not drmaa2's."""
    state, rule = _CONTROL_FROM[action]
    if job.state is not state:
        raise InvalidState(f"job {job.id} is {job.state.value}: {rule}")


class SchedLaunch(Launch):
    """What every submission to a batch scheduler shares, through its commands (``ScriptLaunch``) or its DRMAA
    library: the job's files at the scheduler's paths, with an array task's placeholders filled, bound to each
    record before it is committed. The working directory is the template's, or the submitter's."""

    def __init__(self, ctx: BackendContext, template: JobTemplate, array: ArraySpec | None) -> None:
        self.ctx = ctx
        self.template = template
        self.array = array
        self.cwd = os.path.abspath(template.working_directory or os.getcwd())

    def paths(self, template: JobTemplate, job_id: str) -> Paths:
        return job_paths(self.ctx, template, job_id, self.cwd)

    def task_template(self, number: str, index: str) -> JobTemplate:
        """The raw template with its path placeholders filled for one array task (``index`` TASK_MARK: the
        pattern the scheduler, or its library, gets for every task)."""
        raw = self.template

        def fill(path: str | None) -> str | None:
            return None if path is None else fill_placeholders(path, number, index, self.cwd)

        return replace(
            raw, output_path=fill(raw.output_path), error_path=fill(raw.error_path),
            input_path=fill(raw.input_path),
        )

    def bind(self, job: JobInfo) -> None:
        if self.array is not None:
            number, _, index = job.id.partition(".")
            paths = self.paths(self.task_template(number, index), job.id)
        else:
            paths = self.paths(job.template, job.id)
        job.output_path = paths.output
        job.error_path = paths.error or paths.output


class ScriptLaunch(SchedLaunch):
    """One submission of a generated job script: a single job, or every task of an array in one go."""

    def __init__(
        self, backend: Submitter, template: JobTemplate, array: ArraySpec | None, after: After | None
    ) -> None:
        super().__init__(backend.ctx, template, array)
        self.backend = backend
        self.after = after
        job_script(JobSpec("0", "", template.argv, template.job_environment))  # bad names: refused now

    def bind(self, job: JobInfo) -> None:
        super().bind(job)
        if self.after is not None and self.after.ids:
            job.backend_data["after"] = list(self.after.ids)

    def create_outputs(self, jobs: Sequence[JobInfo]) -> None:
        os.makedirs(self.backend.ctx.output_dir, mode=0o700, exist_ok=True)
        create_private(p for job in jobs for p in (job.output_path, job.error_path))

    def start(self, job: JobInfo) -> JobInfo | None:
        self.create_outputs([job])
        spec = JobSpec(job.id, job.session, job.template.argv, job.template.job_environment,
                       control=control_prefix(self.backend.ctx, job.id), timeout=job.template.timeout)
        native = self.backend.submit(job.template, self.paths(job.template, job.id), spec, None, self.after)
        return named(job, native)

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        if self.array is None:
            return [new for job in jobs if (new := self.start(job)) is not None]
        if not jobs:
            return []
        self.create_outputs(jobs)
        number = jobs[0].id.split(".", 1)[0]
        pattern = self.task_template(number, TASK_MARK)
        paths = self.paths(pattern, f"{number}.{TASK_MARK}")
        spec = JobSpec(number, jobs[0].session, pattern.argv, pattern.job_environment, self.backend.task_var,
                       control=control_prefix(self.backend.ctx, number), timeout=pattern.timeout)
        native = self.backend.submit(pattern, paths, spec, self.array, self.after)
        return [
            named(job, self.backend.task_native_id(native, int(job.id.split(".", 1)[1]))).evolve(
                backend_data={**job.backend_data, "array_job": native})
            for job in jobs
        ]

"""OS processes on this machine, each supervised by a small detached shepherd (``shepherd.py`` beside this module).

The shepherd, not the CLI, waits for the job and writes its exit status, signal and rusage to
``HOME/run/ID.exit`` (an array's tasks: ``HOME/run/GROUP.journal``, see ``journal.py``); any later
``drmaa2`` reads it. Processes are identified by pid *and* their
/proc start time, so a reused pid is never mistaken for the job or its shepherd.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal as signals
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import mark
from ...errors import Drmaa2Error, InvalidArgument, InvalidState, StoreError, UnsupportedAttribute
from ...files import create_private, ensure_private_dir, read_json, write_atomically
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ...procfs import DetachedLaunch, alive, helper_argv, proc_state
from ..base import Backend, BackendContext, Launch, job_variables
from ..contract import NO_IMAGES
from . import CONTAINMENT, DATA_SHAPE, cgroup, journal

if TYPE_CHECKING:
    from ...monitoring import MachineInfo, QueueInfo

#: Started as a lean helper (``procfs.helper_argv``): under ``python -I -S``, importing only modules built into the
#: interpreter, because one runs for every job.
SHEPHERD = Path(__file__).resolve().with_name("shepherd.py")
#: What the shepherd spawns at a task's start and end when the job asked for notifications: its own short-lived
#: lean helper (``notify.fire``), so that the shepherd imports nothing for them.
NOTIFIER = Path(__file__).resolve().parents[2] / "notify" / "fire.py"
GRACE_SECONDS = 5.0
#: How long a control request waits for the shepherd's answer (it answers within milliseconds, or within its
#: interpreter's start-up when the request came right after submit).
ANSWER_SECONDS = 10.0
#: How long suspend and resume wait for the job's process to be seen stopped or running again.
SIGNAL_PATIENCE = 2.0
# Waiting on more jobs than this at once, wait_any watches their shepherds only (one per submission) and looks
# again after POLL_PER_JOB seconds per job: waking at every task's exit would refresh every job each time.
WATCH_EACH_UP_TO = 16
# Each look costs a refresh of every job waited on (two files read per task), which on a large array competed
# for the cores with its shepherds; a wait for the whole array is woken by its shepherds' exits all the same.
POLL_PER_JOB = 0.001
POLL_AT_MOST = 1.0
# A look at 10,000 tasks takes seconds: looks are spaced by LOOKS_SPACED times what the last one cost the
# waiter, so that it takes no more than a fifth of a core from the shepherds (up to SPACED_AT_MOST s apart).
LOOKS_SPACED = 4.0
SPACED_AT_MOST = 5.0
MAX_PIDFDS = 64
#: An array of at least this many tasks is shared by several shepherds, one per core (``shepherds``).
SHARED_FROM = 64


def shepherds(tasks: int, limit: int | None, cores: int, mail: bool) -> int:
    """How many shepherds run an array of ``tasks`` at most ``limit`` at once: one spawns, moves into cgroups
    and writes records on one core, so a large array gets one per core (each runs every k-th task, with its
    share of the limit). One for a small array, for a limit of 1, and for an array with mail, which is one
    mail for the array as a whole."""
    if tasks < SHARED_FROM or mail:
        return 1
    return max(1, min(cores, limit or cores, tasks // (SHARED_FROM // 2)))


class Shepherd:
    """One shepherd of a launch, already started (it boots while the records are committed), and its tasks."""

    def __init__(self) -> None:
        # SIGUSR1 (a control request) blocked until the shepherd handles it: a kill or hold sent the moment
        # submit returns would otherwise end the booting shepherd and the job with it.
        self.process = DetachedLaunch(script=SHEPHERD, env=dict(os.environ), blocked=(signals.SIGUSR1,))
        self.pid, self.start_ticks = self.process.pid, self.process.ticks
        self.tasks: list[dict[str, Any]] = []
        self.group = ""
        self.journal: str | None = None  # an array's: the file in the run directory its tasks' records go to


class ProcessLaunch(Launch):
    """The shepherds of one submission (``shepherds``), waiting for their specs."""

    def __init__(
        self, backend: ProcessBackend, template: JobTemplate, array: ArraySpec | None, after: Dependencies | None
    ) -> None:
        self.backend = backend
        self.template = template
        self.array = array
        self.after = after
        count = 1 if array is None else shepherds(len(array.indices), array.max_parallel, os.cpu_count() or 1,
                                                  bool(template.mail_types))
        self.shepherds = [Shepherd() for _ in range(count)]
        self.bound = 0
        mib = template.resource_limits.get("memory_mb")
        self.memory = None if mib is None else int(mib) * 1024 * 1024

    def bind(self, job: JobInfo) -> None:
        """Give the job (a task) to the next shepherd in turn."""
        index = self.bound % len(self.shepherds)
        self.bound += 1
        shepherd = self.shepherds[index]
        ctx = self.backend.ctx
        t = job.template
        if t.working_directory is None:  # it runs where it was submitted: its record says where that is
            job.template = t = replace(t, working_directory=os.getcwd())
        out = t.output_path or ctx.default_output(job.id, "out")
        err = out if t.join_files else (t.error_path or ctx.default_output(job.id, "err"))
        job.output_path, job.error_path = out, err
        job.machine = os.uname().nodename  # what socket.gethostname() returns, without the import
        if not shepherd.group:
            # A job submitted again under its id (``drmaa2 alter``) gets a group of its own: its old shepherd
            # may still be finishing, and a shepherd serves every request named by its group; so does each
            # shepherd of an array shared by several.
            fresh = "group" not in job.backend_data and index == 0
            shepherd.group = str(job.number) if fresh else f"{job.number}-{shepherd.pid}"
        job.backend_data.update(shepherd=shepherd.pid, shepherd_start=shepherd.start_ticks, group=shepherd.group)
        if self.array is not None:  # its records are in its shepherd's journal (``journal``)
            shepherd.journal = shepherd.journal or f"{shepherd.group}.journal"
            job.backend_data["journal"] = shepherd.journal
        env = job_variables(job)
        shepherd.tasks.append({"id": job.id, "env": env, "stdout": out, "stderr": err})

    def spec(self, shepherd: Shepherd, share: int | None) -> dict[str, Any]:
        """The shepherd's orders: its tasks, at most ``share`` at once (None: no limit)."""
        t = self.template
        env = dict(t.job_environment)
        after = None
        if self.after is not None:
            after = {
                "mode": self.after.mode,
                "jobs": [
                    {
                        "id": dep.id,
                        "exit": str(self.backend.run_dir / f"{dep.id}.exit"),
                        "journal": self.backend.journal_path(dep),
                        "pid": dep.backend_data.get("shepherd"),
                        "ticks": dep.backend_data.get("shepherd_start"),
                    }
                    for dep in self.after.jobs
                ],
            }
        return {
            "id": shepherd.group,
            "tasks": shepherd.tasks,
            "argv": t.argv,
            "env": env,
            "cwd": t.working_directory,
            "stdin": t.input_path,
            "timeout": t.timeout,
            "grace": GRACE_SECONDS,
            "run_dir": str(self.backend.run_dir),
            "journal": None if shepherd.journal is None else str(self.backend.run_dir / shepherd.journal),
            "max_parallel": share,
            "hold": t.submit_as_hold,
            "after": after,
            "cgroup": self.backend.cgroup_plan(),
            "subreaper": self.backend.subreaper,
            "memory": self.memory,
            "cpus": t.resource_limits.get("cpus"),
            "notify": self.notify(),
        }

    def notify(self) -> dict[str, Any] | None:
        """What the shepherd needs to fire the job's notifications (None: it asked for none): the notifier's
        argv with its orders (the keys of ``notify.fire.ORDER_KEYS``, as ``notify.orders.orders`` makes them:
        this backend lies below that layer) and the job's variables that every event carries."""
        t = self.template
        if not t.mail_types and not t.notify_command:
            return None
        orders = {"log": str(self.backend.ctx.home / "notify.log"), "types": ",".join(t.mail_types),
                  "mail": "1" if t.mail_types else "", "to": ",".join(t.email), "command": t.notify_command or "",
                  "timeout": ""}
        def argv(**only: str) -> list[str]:
            given = {**orders, **only}
            return [sys.executable, *helper_argv(script=NOTIFIER, args=[f"{k}={v}" for k, v in given.items()])]

        variables = {"DRMAA2_BACKEND": self.backend.name}
        if t.job_name:
            variables["DRMAA2_JOB_NAME"] = t.job_name
        # An array's tasks run the hook each ("hook"), its mail is for the array as a whole ("mail").
        return {"argv": argv(), "hook": argv(mail="") if t.notify_command else None,
                "mail": argv(command="") if t.mail_types else None, "vars": variables, "log": orders["log"]}

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        limit = self.array.max_parallel if self.array else None
        count = len(self.shepherds)
        # Here, once, before any shepherd has its orders: a large array's shepherds creating their tasks' files
        # in one directory at once waited on each other (0.5 ms a file, against 0.03 ms for one writer), and a
        # file the tasks share is emptied before any of them writes to it.
        create_private(p for s in self.shepherds for t in s.tasks for p in (t["stdout"], t["stderr"]))
        for i, shepherd in enumerate(self.shepherds):
            if not shepherd.tasks:
                shepherd.process.abort()  # it reads end of file and exits
                continue
            share = None if limit is None else limit // count + (i < limit % count)
            # marshal: the shepherd runs this same interpreter and can read it without importing json.
            shepherd.process.send(marshal.dumps(self.spec(shepherd, share)))
        return []

    def start(self, job: JobInfo) -> JobInfo | None:
        self.start_all([job])
        return None

    def abort(self) -> None:
        for shepherd in self.shepherds:
            shepherd.process.abort()


#: The actions a shepherd takes for many of its tasks in one request, and the request's op.
_BATCHED = {"terminate": "kill", "hold": "hold", "release": "release"}


class ProcessBackend(Backend):
    """Jobs as OS processes on this machine (the default backend)."""

    name = "process"
    runs_here = True
    native_features = frozenset({"array", "after", "hold"})
    unsupported_fields = ("job_category", "queue_name", "stage_in_files")
    limits = frozenset({"memory_mb", "cpus"})
    local_refresh = True
    local_input = True
    #: The shepherd sees each task begin and end: it spawns the notifier itself (mail and hook).
    notifies = frozenset({"events"})
    data_shape = DATA_SHAPE
    containment_modes = CONTAINMENT
    refuses = NO_IMAGES

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.run_dir = ctx.home / "run"
        self._plan: dict[str, Any] | str | None = None
        self._returned: float | None = None  # when wait_any last returned
        #: Without a cgroup, the shepherd makes itself its jobs' child subreaper (``subreaper.py``) unless
        #: ``[backends.process] subreaper = false`` leaves the process group as all that is contained.
        self.subreaper = ctx.settings.get("subreaper", True) is not False

    def containment(self) -> dict[str, Any] | str:
        """This machine's cgroup plan for jobs (see ``cgroup.py``), its base cgroups made; or why there is
        none (jobs are then contained as their shepherd's subreaper, or by their process group: ``mode``).
        ``[backends.process] cgroup = false`` in the config file turns cgroups off."""
        if self._plan is None:
            if self.ctx.settings.get("cgroup", True) is False:
                self._plan = "cgroups turned off in the config file"
            else:
                plan = cgroup.here(os.geteuid() == 0)
                if not isinstance(plan, str):
                    try:
                        cgroup.prepare(plan)
                    except OSError as e:
                        plan = f"cannot create {e.filename or 'the base cgroup'}: {e.strerror}"
                self._plan = plan
        return self._plan

    def cgroup_plan(self) -> dict[str, Any] | None:
        plan = self.containment()
        return None if isinstance(plan, str) else plan

    def mode(self) -> str:
        """"cgroup", "subreaper" or "process group": what jobs started now are contained by."""
        return cgroup.mode(self.containment(), self.subreaper)

    def setup(self) -> dict[str, str]:
        return {"containment": cgroup.describe(self.containment(), self.subreaper)}

    def parallel_limit(self, array: ArraySpec) -> int | None:
        """An array's ``%N``, else ``[backends.process] max_parallel``, else the machine's cores (GNU parallel's
        and ``make -j``'s habit: ``--array 1-100000`` must not start 100,000 processes on a laptop); ``%0`` or
        ``max_parallel = 0``: no limit."""
        if array.max_parallel is not None:
            return array.max_parallel or None
        setting = self.ctx.settings.get("max_parallel")
        if setting is None:
            return os.cpu_count() or 1
        return int(setting) or None

    def prepare(
        self, template: JobTemplate, *, array: ArraySpec | None = None, after: Dependencies | None = None
    ) -> Launch:
        self.check_template(template)
        self._check_limits(template)
        cwd = template.working_directory
        if cwd and not os.path.isdir(cwd):
            raise InvalidArgument(f"working directory {cwd} does not exist")
        if template.input_path and (not os.path.exists(template.input_path) or os.path.isdir(template.input_path)):
            raise InvalidArgument(f"input file {template.input_path} does not exist")
        for path in (template.output_path, template.error_path):
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise InvalidArgument(f"the directory for output file {path} does not exist")
        for d in (self.ctx.home, self.run_dir, self.ctx.output_dir):
            ensure_private_dir(d)
            # The shepherd writes here; if it cannot, the job would fail with nobody told why.
            if not os.access(d, os.W_OK | os.X_OK):
                raise StoreError(f"cannot write to {d}: Permission denied")
        return ProcessLaunch(self, template, array, after)

    def _check_limits(self, template: JobTemplate) -> None:
        limits = template.resource_limits
        for key, value in limits.items():
            if key not in ("memory_mb", "cpus"):
                name = "a disk limit" if key == "disk_mb" else f"the resource limit {key!r}"
                raise UnsupportedAttribute(f"the process backend cannot honour {name}")
            if float(value) <= 0:
                raise InvalidArgument(f"{'memory' if key == 'memory_mb' else 'cpu'} limit must be positive, "
                                      f"not {value}")
        plan = self.containment()
        if limits and isinstance(plan, str):
            what = "--memory" if "memory_mb" in limits else "--cpus"
            raise UnsupportedAttribute(f"the process backend cannot honour {what} without a cgroup ({plan})")

    # --- observation ----------------------------------------------------------------------------------
    def journal_path(self, job: JobInfo) -> str | None:
        """Where an array task's records are (its shepherd's journal), or None for a job with its own files."""
        name = job.backend_data.get("journal")
        return str(self.run_dir / name) if isinstance(name, str) and "/" not in name else None

    def _files(self, job: JobInfo, listed: set[str] | None = None,
               journals: dict[str, dict[str, list[Any]]] | None = None) -> tuple[dict[str, Any] | None,
                                                                                 dict[str, Any] | None]:
        """The job's start and exit records, None for each it has not. ``journals``: the journals read so far
        in this look at many jobs (an array's tasks share one), filled as they are read."""
        path = self.journal_path(job)
        if path is not None:
            records: dict[str, list[Any]] | None
            if journals is not None and path in journals:
                records = journals[path]
            else:
                records = journal.read(path)
                if journals is not None and records is not None:
                    journals[path] = records
            if records is not None:
                start_record, exit_record = records.get(job.id, (None, None))
                return start_record, exit_record
            # No journal: its shepherd could not make it and wrote a file per record, as for a single job.
        # ``listed``: the run directory's names, read once by a refresh of many jobs: a held array's 5,000
        # tasks have neither file, and 10,000 failed opens were most of a refresh.
        start, end = f"{job.id}.start", f"{job.id}.exit"
        return (None if listed is not None and start not in listed else read_json(self.run_dir / start),
                None if listed is not None and end not in listed else read_json(self.run_dir / end))

    def _shepherd_alive(self, job: JobInfo, memo: dict[tuple[Any, Any], bool]) -> bool:
        """Whether the job's shepherd lives, asked once per refresh for all the tasks it supervises."""
        key = (job.backend_data.get("shepherd"), job.backend_data.get("shepherd_start"))
        if key not in memo:
            memo[key] = alive(*key)
        return memo[key]

    def _observe(self, job: JobInfo, memo: dict[tuple[Any, Any], bool], listed: set[str] | None = None,
                 journals: dict[str, dict[str, list[Any]]] | None = None) -> JobInfo:
        started, ended = self._files(job, listed, journals)
        data = job.backend_data
        shepherd_alive = self._shepherd_alive(job, memo)
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
            if shepherd_alive:
                # A task that just exited is still "running" until its shepherd writes the exit file.
                suspended = job_alive and (proc_state(started["pid"]) in ("T", "t")
                                           or self._marked_suspended(job, listed))
                changes.update(state=JobState.SUSPENDED if suspended else JobState.RUNNING)
            elif job_alive:
                changes.update(
                    state=JobState.RUNNING,
                    annotation="supervisor lost: the exit status will not be known",
                )
            else:
                self._drop_cgroup(job)
                changes.update(
                    state=JobState.FAILED,
                    finish_time=time.time(),
                    annotation="exit status unknown: the job's supervisor died",
                )
        elif shepherd_alive:
            held = job.state.held
            changes.update(state=JobState.QUEUED_HELD if held else JobState.QUEUED)
            if "." in job.id and not held and not job.after:  # an array task behind its running ones
                changes.update(annotation=mark.WAITING_FOR_SLOT)
        else:
            # The shepherd exists from before the record is committed, so a dead one with no start file
            # never started the job: the submitter died before handing it over.
            changes.update(
                state=JobState.FAILED,
                finish_time=time.time(),
                annotation="never started: its supervisor exited before starting it",
            )
        if started is not None and job.annotation == mark.WAITING_FOR_SLOT:
            changes.setdefault("annotation", None)  # it got its slot
        return job.evolve(**changes)

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        changed = []
        memo: dict[tuple[Any, Any], bool] = {}
        listed = None
        if len(jobs) > 64:
            with contextlib.suppress(OSError):
                listed = set(os.listdir(self.run_dir))
        journals: dict[str, dict[str, list[Any]]] = {}
        for job in jobs:
            new = self._observe(job, memo, listed, journals)
            if new != job:
                changed.append(new)
        return changed

    def _watch(self, job: JobInfo, each: bool, memo: dict[tuple[Any, Any], bool],
               journals: dict[str, dict[str, list[Any]]]) -> tuple[int | None, bool]:
        """(pid whose exit may end ``job``, or None when the caller should refresh now; whether to look again
        soon, because that pid may outlive the job). With ``each`` False a live shepherd is all that is watched."""
        shepherd_alive = self._shepherd_alive(job, memo)
        array_task = "." in job.id
        if shepherd_alive and not each:
            return int(job.backend_data["shepherd"]), array_task
        started, ended = self._files(job, journals=journals)
        if ended is not None:
            return None, False
        if started is not None and alive(started["pid"], started.get("proc_start")):
            return int(started["pid"]), False  # also when its supervisor is lost: the job still ends
        if not shepherd_alive:
            return None, False  # the refresh records how it ended
        # Not started, or exited and about to be recorded: a single job's shepherd ends right after writing
        # the record; an array task's shepherd ends only with the whole array.
        return int(job.backend_data["shepherd"]), array_task

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        # What the caller spent since the last return (its look at the jobs: a refresh, and recording it).
        spent = 0.0 if self._returned is None else time.monotonic() - self._returned
        try:
            self._wait_any(jobs, timeout, spent)
        finally:
            self._returned = time.monotonic()

    def _wait_any(self, jobs: Sequence[JobInfo], timeout: float | None, spent: float) -> None:
        each = len(jobs) <= WATCH_EACH_UP_TO
        memo: dict[tuple[Any, Any], bool] = {}
        journals: dict[str, dict[str, list[Any]]] = {}
        pids: set[int] = set()
        soon = False
        for job in jobs:
            pid, again = self._watch(job, each, memo, journals)
            if pid is None:
                return
            pids.add(pid)
            soon = soon or again
        limit = timeout
        if soon or len(pids) > MAX_PIDFDS:
            # Each look refreshes every job waited on: space the looks by their cost.
            interval = max(min(POLL_AT_MOST, max(0.005, POLL_PER_JOB * len(jobs))),
                           min(SPACED_AT_MOST, LOOKS_SPACED * spent))
            limit = interval if limit is None else min(limit, interval)
        fds = []
        try:
            for pid in sorted(pids)[:MAX_PIDFDS]:
                try:
                    fds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    return
            poller = select.poll()
            for fd in fds:
                poller.register(fd, select.POLLIN)
            poller.poll(None if limit is None else max(0, int(limit * 1000)))
        finally:
            for fd in fds:
                os.close(fd)

    # --- control --------------------------------------------------------------------------------------
    def _state(self, job: JobInfo) -> tuple[bool, int | None, bool]:
        """(shepherd alive, pid of the job's running process or None, whether it started)."""
        data = job.backend_data
        started, ended = self._files(job)
        if ended is not None:
            raise InvalidState(f"job {job.id} has already ended")
        pid = started["pid"] if started and alive(started["pid"], started.get("proc_start")) else None
        return alive(data.get("shepherd"), data.get("shepherd_start")), pid, started is not None

    def _signal_all(self, job: JobInfo, pid: int, sig: int) -> None:
        """Signal the job's process group and, when it has a cgroup, every process in it (a ``setsid`` child
        left the group); under a subreaper shepherd, every process of its tree."""
        started = self._files(job)[0] or {}
        where = started.get("cgroup")
        # The cgroup is its shepherd's slot, which the next task uses once this one ended: still this task's
        # while its main process is in it.
        if isinstance(where, str) and pid in cgroup.members([where]) and cgroup.signal_all([where], sig):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        data = job.backend_data
        if started.get("subreaper") and alive(data.get("shepherd"), data.get("shepherd_start")):
            from . import subreaper

            task = job.id.partition(".")[2]
            # Its orphans of no known task are signalled only for a job that is no array task.
            members = subreaper.members(int(data["shepherd"]), pid, task, set(), not task)
            subreaper.signal(members, sig, skip_group=pid)

    def _request(self, job: JobInfo, **request: Any) -> str | None:
        answer = self._ask(job, request)
        return None if answer is None else str(answer)

    def _ask(self, job: JobInfo, request: dict[str, Any]) -> Any:
        """Hand a control request to the job's shepherd (a file, then SIGUSR1) and wait for its answer: "ok",
        "started" or "ended" (see the shepherd); "gone" when the shepherd exited without answering (the request
        file is then removed); None when it gave no answer within ANSWER_SECONDS (the request stays and is
        served when the shepherd gets to it)."""
        data = job.backend_data
        group = data.get("group", job.id)
        suffix = f"{time.time_ns()}.{os.getpid()}"
        name, reply = f"{group}.ctl.{suffix}", self.run_dir / f"{group}.ack.{suffix}"
        # Not fsynced: a request only matters to a shepherd running on this machine now.
        write_atomically(self.run_dir / name, marshal.dumps({"task": job.id, "reply": reply.name, **request}),
                         durable=False)
        pid = int(data["shepherd"])
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            pidfd = None
        try:
            if pidfd is not None and alive(pid, data.get("shepherd_start")):
                os.kill(pid, signals.SIGUSR1)
                deadline = time.monotonic() + ANSWER_SECONDS
                pause = 0.001
                while True:
                    answer = read_json(reply)
                    if answer is not None:
                        with contextlib.suppress(OSError):
                            reply.unlink()
                        return answer.get("result")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    if select.select([pidfd], [], [], min(pause, remaining))[0]:
                        break  # the shepherd exited; it may have answered just before
                    pause = min(pause * 2, 0.05)
            answer = read_json(reply)
            for path in (self.run_dir / name, reply):
                with contextlib.suppress(OSError):
                    path.unlink()
            return "gone" if answer is None else answer.get("result")
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def control(self, action: str, jobs: Sequence[JobInfo], *args: object,
                before: Callable[[Sequence[JobInfo]], None] | None = None) -> list[JobInfo | Drmaa2Error | None]:
        """Kill, hold or release many tasks of one shepherd (an array) with one request to it, not one each
        (5,000 round trips took half a minute); everything else one job at a time, as the base class does."""
        groups: dict[str, list[JobInfo]] = {}
        for job in jobs:
            groups.setdefault(str(job.backend_data.get("group", job.id)), []).append(job)
        if action not in _BATCHED or all(len(g) == 1 for g in groups.values()):
            return super().control(action, jobs, *args, before=before)
        if before is not None and jobs:
            before(jobs)
        outcomes: dict[str, JobInfo | Drmaa2Error | None] = {}
        for group in groups.values():
            outcomes.update(self._control_group(action, group, args[0] if args else None))
        return [outcomes[j.id] for j in jobs]

    def _control_group(self, action: str, jobs: list[JobInfo], sig: object) -> dict[str, JobInfo | Drmaa2Error]:
        shepherd = jobs[0].backend_data
        if not alive(shepherd.get("shepherd"), shepherd.get("shepherd_start")):
            return {j.id: self._one(action, j, sig) for j in jobs}
        request: dict[str, Any] = {"op": _BATCHED[action], "tasks": [j.id for j in jobs]}
        if action == "terminate":
            request["signal"] = sig
        answers = self._ask(jobs[0], request)
        if not isinstance(answers, dict):  # no answer in time, or the shepherd went: one at a time
            return {j.id: self._one(action, j, sig) for j in jobs}
        outcomes: dict[str, JobInfo | Drmaa2Error] = {}
        for job in jobs:
            answer = answers.get(job.id, "ended")
            if action == "terminate":
                ok = answer != "ended"
                why = f"job {job.id} has already ended"
            else:
                ok = answer == "ok"
                why = (f"job {job.id} has started; only queued jobs can be held" if action == "hold"
                       else f"job {job.id} is not held")
            outcomes[job.id] = job if ok else InvalidState(why)
        return outcomes

    def _one(self, action: str, job: JobInfo, sig: object) -> JobInfo | Drmaa2Error:
        try:
            if action == "terminate":
                self.terminate(job, sig if isinstance(sig, int) else None)
            else:
                getattr(self, action)(job)
        except Drmaa2Error as e:
            return e
        return job

    def terminate(self, job: JobInfo, signal: int | None) -> None:
        shepherd_alive, pid, _ = self._state(job)
        self._unmark_suspended(job)  # the shepherd (or we, below) wakes it to act on the signal
        answer = self._request(job, op="kill", signal=signal) if shepherd_alive else "gone"
        if answer == "ended":
            raise InvalidState(f"job {job.id} has already ended")
        if answer == "gone" and pid is not None:
            # No supervisor to do it (it died): signal the job ourselves, and wake it if it was suspended.
            self._signal_all(job, pid, signal or signals.SIGKILL)
            if signal not in (None, signals.SIGKILL, signals.SIGSTOP, signals.SIGCONT):
                self._signal_all(job, pid, signals.SIGCONT)

    def hold(self, job: JobInfo) -> None:
        shepherd_alive, _, started = self._state(job)
        # Only the shepherd knows whether the hold came before the start: its answer decides.
        if started or not shepherd_alive or self._request(job, op="hold") not in ("ok", None):
            raise InvalidState(f"job {job.id} has started; only queued jobs can be held")

    def release(self, job: JobInfo) -> None:
        shepherd_alive, _, started = self._state(job)
        if started or not shepherd_alive or self._request(job, op="release") not in ("ok", None):
            raise InvalidState(f"job {job.id} is not held")

    def _signal_group(self, job: JobInfo, sig: int) -> None:
        _, pid, _ = self._state(job)
        if pid is None:
            raise InvalidState(f"job {job.id} is not running")
        self._signal_all(job, pid, sig)
        # A signal takes effect when its target next runs, which on a busy machine can be a while: the state
        # that `status` reads right after (stopped or not, from /proc) must already say what was asked.
        stopped = sig == signals.SIGSTOP
        deadline = time.monotonic() + SIGNAL_PATIENCE
        while True:
            state = proc_state(pid)
            if state in (None, "Z", "X") or (state in ("T", "t")) == stopped or time.monotonic() > deadline:
                break
            time.sleep(0.002)

    def suspend(self, job: JobInfo) -> None:
        """SIGSTOP to every process of the job, and a mark that it is suspended (``ID.suspended``): its main
        process may not show as stopped at all. A shell waiting in ``vfork`` for a child that SIGSTOP caught
        before its ``exec`` stays in state D (seen with dash's ``sleep`` in a loop), so /proc alone would call
        the job running for ever, and ``resume`` would refuse to wake it."""
        self._signal_group(job, signals.SIGSTOP)
        write_atomically(self._suspended_path(job), b"", durable=False)

    def resume(self, job: JobInfo) -> None:
        self._unmark_suspended(job)
        self._signal_group(job, signals.SIGCONT)

    def _suspended_path(self, job: JobInfo) -> Path:
        return self.run_dir / f"{job.id}.suspended"

    def _marked_suspended(self, job: JobInfo, listed: set[str] | None) -> bool:
        if listed is not None:
            return f"{job.id}.suspended" in listed
        return self._suspended_path(job).exists()

    def _unmark_suspended(self, job: JobInfo) -> None:
        with contextlib.suppress(OSError):
            self._suspended_path(job).unlink()

    def _drop_cgroup(self, job: JobInfo) -> None:
        """Remove the cgroup of a job whose shepherd died before it could (only once it is empty)."""
        plan = self.cgroup_plan()
        where = (self._files(job)[0] or {}).get("cgroup")
        if plan is not None and isinstance(where, str):
            cgroup.remove(cgroup.dirs(plan, os.path.basename(where)))

    def cleanup(self, job: JobInfo) -> None:
        self.cleanup_many([job])

    def cleanup_many(self, jobs: Sequence[JobInfo]) -> list[tuple[str, Drmaa2Error]]:
        """The jobs' exit files and any cgroup a dead shepherd left, each directory listed once: removing
        100,000 jobs' files name by name cost nine failed system calls per job."""
        run_dir = str(self.run_dir)
        present = _listing(run_dir)
        plan = self.cgroup_plan()
        left = {base: _listing(base) for base in plan["base"].values()} if plan is not None else {}
        looked: set[object] = set()  # shepherds whose cgroups were looked for
        removed = {job.id for job in jobs}
        journals = {path: job for job in jobs if (path := self.journal_path(job)) is not None}
        for path, job in journals.items():
            # Gone with the last of its tasks' records: a task not removed may have no other record of its end.
            if not alive(job.backend_data.get("shepherd"), job.backend_data.get("shepherd_start")):
                records = journal.read(path)
                if records is not None and records.keys() <= removed:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
        for job in jobs:
            for suffix in (".start", ".exit", ".start.tmp", ".exit.tmp", ".suspended"):
                if f"{job.id}{suffix}" in present:
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(run_dir, f"{job.id}{suffix}"))
            shepherd = job.backend_data.get("shepherd")
            if left and shepherd is not None and shepherd not in looked:
                looked.add(shepherd)
                if not alive(shepherd, job.backend_data.get("shepherd_start")):
                    # Its shepherd's slots (SHEPHERD-SLOT; SHEPHERD-ID from versions before slots).
                    prefix = f"{shepherd}-"
                    cgroup.remove([os.path.join(base, name) for base, names in left.items() for name in names
                                   if name.startswith(prefix)])
        return []

    # --- monitoring ----------------------------------------------------------------------------------
    def machines(self) -> list[MachineInfo]:
        """This machine: jobs run nowhere else."""
        from ...monitoring import this_machine  # its dataclasses and patterns: for monitoring calls only

        return [this_machine()]

    def queues(self) -> list[QueueInfo]:
        """None: a process starts at once, there is nothing to queue in."""
        return []


def _listing(path: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(path))
    except OSError:
        return frozenset()

"""Supervisor of one process-backend job or job array (Grid Engine's shepherd is the model).

Started by ``procfs.DetachedLaunch`` as a lean helper (``python -I -S``, imported as ``process.shepherd``: see
``procfs.helper_argv``) with the standard library only (a few MB while it waits), detached in its own
session so that neither the submitting CLI's exit nor its terminal closing touches it. Protocol:

* stdin: the spec (``marshal``), sent by ``drmaa2 submit`` only after the job's records are committed. EOF
  without a spec means the submitter died first: exit without starting anything.
* Before starting anything it waits for its gate: dependencies (``after``) and a hold.
* ``RUN/TASK.start`` once a task's process exists (pid, /proc start time, dispatch time); ``RUN/TASK.exit``
  when it ended (exit status, signal, rusage, annotation). An array's shepherd writes both records of each of
  its tasks to one file instead, its journal (``RUN/GROUP.journal``, ``journal.py`` beside this module). After
  the last task the shepherd exits, which is what ``drmaa2 wait`` is woken by (a pidfd).
* Control requests are files ``RUN/ID.ctl.*`` (``marshal``: op kill|hold|release, task or a list of tasks,
  signal, reply) followed by SIGUSR1. The answer ("ok", "started" or "ended"; for a list, one per task) goes to
  ``RUN/<reply>`` as JSON, so that the requester knows whether a hold came before the start. SIGTERM
  terminates everything gracefully. A graceful terminate escalates to SIGKILL after ``grace`` s.
* With a cgroup plan in the spec (``cgroup.py`` beside this module, imported only then) each task runs in a cgroup
  of its own: its limits (``memory``, ``cpus``) hold there, signals reach every process in it, whatever it left
  running is killed when its main process exits, and its CPU time, peak memory and OOM kills are read from it.
  Without one (or when it cannot be made) the shepherd makes itself its jobs' child subreaper (``subreaper.py``
  beside this module, imported only then) when the spec asks for it: every orphaned descendant of a task comes
  back to the shepherd, is signalled with the task, and is ended once the task's main process exited (SIGTERM,
  then SIGKILL after ``grace``) before the shepherd exits. Without either, the task's process group is what is
  signalled.
* The submitter starts the shepherd with SIGUSR1 blocked: a request sent while the interpreter boots or the
  spec is on its way stays pending instead of killing the shepherd (SIGUSR1's default action), and is served
  once the handler is in place. Requests are served by the main loop, never inside a signal handler, so a
  task is always either waiting (and a kill or hold stops it from starting) or started (and a kill signals
  it), never in between.

One shepherd runs per job for as long as the job runs, so its memory is the process backend's cost per job. It
imports only modules built into the interpreter (``_signal``, ``select``, ``time``, ``marshal``): the Python-level
``signal`` (through ``enum``), ``json`` (through ``re``), ``typing`` and ``contextlib`` would add about 2 MiB of
PSS to each shepherd. ``json`` and ``signal`` are imported on the rare paths that need them. For the same
reason it keeps its own copies of what the rest of drmaa2 shares (``files.write_atomically`` and ``read_json``,
``procfs.proc_start``, ``ending.signal_name`` and the ending words): it cannot import the drmaa2cli package.
"""

from __future__ import annotations

import marshal
import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal  # typeshed describes the C module's API only through signal
    from collections.abc import Callable
    from typing import Any
else:
    import _signal as signal

RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1)


#: How long past SIGKILL an ended task's leftover process may take to die before the shepherd gives up on it.
GIVE_UP = 10.0
#: How many notifiers (``notify``) run at once; the others wait in a queue.
MAX_NOTIFIERS = 4

# Bytes claimed for each of a task's start and exit files before the task starts (see reserve).
RESERVE = 4096


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def reserve(path: str) -> None:
    """Claim the disk space for ``path`` now, while there is some: a job may fill the disk, and its exit
    status must still be written. ``write_json`` fills the claimed temp file in place, needing no new blocks."""
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, b" " * RESERVE)
    finally:
        os.close(fd)


ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def json_value(value: object) -> str:
    """JSON for None, bool, int, float, str or a flat dict of them, as ``json.dumps`` writes it (non-ASCII
    escaped)."""
    if isinstance(value, dict):  # the answers to a request for many tasks
        return "{" + ",".join(json_value(k) + ":" + json_value(v) for k, v in value.items()) + "}"
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value - value == 0 else "null"  # nan and infinities are not JSON
    text = str(value)
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # ids, paths, most annotations: nothing to escape, no loop over characters
    out = []
    for ch in text:
        code = ord(ch)
        if " " <= ch < "\x7f" and ch not in ESCAPES:
            out.append(ch)
        elif ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif code > 0xFFFF:
            code -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 | code >> 10, 0xDC00 | code & 0x3FF))
        else:
            out.append("\\u%04x" % code)
    return '"' + "".join(out) + '"'


def write_json(path: str, data: dict[str, Any]) -> None:
    """Write a flat record as JSON for the CLI. Atomic against a crash of this process; not fsynced: after a
    power loss no job is running anyway."""
    tmp = path + ".tmp"
    payload = ("{" + ",".join(json_value(k) + ":" + json_value(v) for k, v in data.items()) + "}").encode()
    try:
        fd = os.open(tmp, os.O_WRONLY)  # reserved (or left by a crash): overwritten in place
    except FileNotFoundError:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, payload)
        os.ftruncate(fd, len(payload))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_json(path: str) -> Any:
    """Another job's exit record (dependencies only: json is imported when a job has some)."""
    import json

    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def read_request(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            return marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def exit_record(dep: dict[str, Any]) -> Any:
    """A dependency's exit record: in its array's journal, else in its exit file; None while it has none."""
    if dep.get("journal"):
        from . import journal

        records = journal.read(dep["journal"])
        if records is not None:
            return records.get(dep["id"], [None, None])[1]
    return read_json(dep["exit"])


def proc_start(pid: int) -> int | None:
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None  # exited; only its parent has not reaped it yet
    return int(fields[19])


def oom_kills() -> int | None:
    """How many processes the kernel's OOM killer has killed since boot (Linux >= 4.13), or None."""
    try:
        with open("/proc/vmstat", "rb") as f:
            for line in f:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def signame(num: int) -> str:
    import signal as signals  # only once a job was killed, when the shepherd is about to finish

    try:
        return signals.Signals(num).name
    except ValueError:
        return "signal %d" % num


def describe(result: dict[str, Any]) -> str:
    if result.get("annotation"):
        return str(result["annotation"])
    if result.get("signal") is not None:
        return "killed by signal %d" % result["signal"]
    return "exited with status %s" % result.get("exit_status")


def out_of_memory(limit: int | None) -> str:
    """Its copy of ``ending.out_of_memory``."""
    return "out of memory: OOM killed" + (" (memory limit %d MiB)" % (limit // 2**20) if limit else "")


def remove_tree(path: str, keep: bool = False) -> None:
    """Remove ``path`` (with ``keep``: only what is in it) and everything under it, as far as it can (no
    shutil: the shepherd stays lean); symbolic links are removed, never followed, ``path`` too (a job may have
    put one in its TMPDIR's place)."""
    if os.path.islink(path):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            remove_tree(entry.path)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass
    if keep:
        return
    try:
        os.rmdir(path)
    except OSError:
        pass


class Task:
    def __init__(self, spec: dict[str, Any], run_dir: str) -> None:
        self.id: str = spec["id"]
        self.spec = spec
        base = os.path.join(run_dir, self.id)
        self.start_path = base + ".start"
        self.exit_path = base + ".exit"
        self.pid: int | None = None
        self.killed_with: int | None = None
        self.timed_out = False
        self.escalated = False  # SIGKILL followed a SIGTERM that the task outlived for the grace period
        self.oom_kills: int | None = None  # the OOM killer's count when the task started
        self.cgroup: list[str] | None = None  # its cgroup directories, when it has one (process/cgroup.py)
        self.cgroup_name = ""
        self.slot: int | None = None  # its place among the running tasks (see Shepherd.take_slot)
        self.cgroup_charged = 0  # bytes its kept cgroup held already when it started (cgroup.recycle)
        self.cgroup_ooms = 0  # OOM kills its kept cgroup had seen before it started
        self.term_at: float | None = None  # when SIGTERM was sent to it (drmaa2 kill, timeout), for the SIGKILL
        self.done = False  # its exit record is written
        self.drain_until = 0.0  # once ended (subreaper): when its leftovers get SIGKILL, then when to give up


class Shepherd:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.run_dir: str = spec["run_dir"]
        self.id: str = spec["id"]
        self.tasks = [Task(t, self.run_dir) for t in spec["tasks"]]
        self.pending = list(self.tasks)
        self.running: dict[int, Task] = {}
        self.max_parallel = int(spec.get("max_parallel") or len(self.tasks))
        self.grace = float(spec.get("grace", 5.0))
        self.timeout = spec.get("timeout")
        self.plan: dict[str, Any] | None = spec.get("cgroup")
        self.cg: Any = None  # process/cgroup.py, imported only when jobs get a cgroup
        self.reaper: Any = None  # process/subreaper.py, once this shepherd is its jobs' subreaper
        self.draining: list[Task] = []  # ended tasks whose leftover processes are being ended (subreaper)
        self.notifiers: set[int] = set()  # notifiers running (``notify``): no task's leftovers
        # A running task's place (its TMPDIR, on v1 its cgroup), kept for the next task: an array of a thousand
        # short tasks would otherwise make and remove a thousand of each. A kept cgroup's slot maps to (its
        # name, its directories, the bytes still charged to it, its OOM kills so far).
        self.free_slots: list[int] = []
        self.slot_count = 0
        self.kept: dict[int, tuple[str, list[str], int, int]] = {}
        self.oom_seen: int | None = -1  # the OOM killer's count read in this round of the main loop (-1: not yet)
        self.null: int | None = None  # /dev/null, the tasks' stdin when the job has none
        self.notify_queue: list[tuple[list[str], dict[str, str]]] = []  # notifiers waiting for a free place
        self.ended = self.failed = 0  # tasks ended, and failed, so far (an array's one mail at its end)
        self.mailed = False  # an array's mail at its first task's start was sent
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.held: set[str] = {t.id for t in self.tasks} if spec.get("hold") else set()
        self.env: dict[str, str] = {}
        # Set by the signal handlers, acted on by the main loop (see ``serve``); requests may predate the
        # handler (they were pending while SIGUSR1 was blocked), so look once at the start.
        self.control_due = True
        self.term_due = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.journal: Any = None  # an array's journal.Writer (see open_journal); None: a file per record

    def open_journal(self) -> None:
        """Write the records of an array's tasks to its journal; where it cannot be made, to a file each (the
        CLI reads those when there is no journal)."""
        path = self.spec.get("journal")
        if path:
            from . import journal

            try:
                self.journal = journal.Writer(path)
            except OSError:
                self.journal = None

    def record(self, task: Task, kind: str, data: dict[str, Any]) -> None:
        """Write a task's ``start`` or ``exit`` record. Raises OSError."""
        if self.journal is None:
            write_json(task.start_path if kind == "start" else task.exit_path, data)
        else:
            line = '{"task":%s,"%s":%s}\n' % (json_value(task.id), kind, json_value(data))
            self.journal.append(line.encode())

    # --- timers: one ITIMER_REAL for deadlines and SIGKILL escalations ---------------------------------
    def schedule(self, delay: float, action: Callable[[], None]) -> None:
        self.timers.append((time.monotonic() + delay, action))
        self.timers.sort(key=lambda t: t[0])
        self.arm()

    def arm(self) -> None:
        if self.timers:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, self.timers[0][0] - time.monotonic()))

    def on_alarm(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now + 0.0005:
            _, action = self.timers.pop(0)
            action()
        self.arm()

    # --- control ----------------------------------------------------------------------------------------
    def signal_task(self, task: Task, sig: int, graceful: bool) -> None:
        if task.pid is None or task.pid not in self.running:
            return
        self.signal_all(task, sig)
        if sig not in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT):
            # A suspended (stopped) job must get to act on the signal, as Slurm and Grid Engine let it: its
            # TERM trap runs and its own exit code is reported, instead of SIGKILL after the grace period.
            self.signal_all(task, signal.SIGCONT)
        if graceful and sig == signal.SIGTERM:
            pid = task.pid
            self.schedule(self.grace, lambda: self.escalate(pid))

    def escalate(self, pid: int) -> None:
        task = self.running.get(pid)
        if task is not None:
            task.escalated = True  # before the signal: its exit may be reaped the moment it is sent
            self.signal_all(task, signal.SIGKILL)

    def signal_all(self, task: Task, sig: int) -> None:
        """Signal the task's process group, and with a cgroup or as subreaper every process of the task
        wherever it went (a ``setsid`` or daemonised child left the group)."""
        if task.cgroup is not None and self.cg.signal_all(task.cgroup, sig):
            return  # once each: a process that traps the signal must not see it twice
        if sig == signal.SIGTERM and task.term_at is None:
            task.term_at = time.monotonic()
        group = task.pid if task.pid in self.running else None
        if group is not None:
            try:
                os.killpg(group, sig)  # first: a child forked meanwhile gets it too
            except ProcessLookupError:
                pass
        if self.reaper is not None:
            self.reaper.signal(self.members(task), sig, skip_group=group)

    def members(self, task: Task) -> list[int]:
        """The task's processes, wherever they went in its process tree (subreaper only)."""
        main = task.pid if task.pid in self.running else None
        others = {pid for pid in self.running if pid != main}
        mark = task.spec.get("env", {}).get("DRMAA2_TASK_ID", "")
        return list(self.reaper.members(os.getpid(), main, mark, others | self.notifiers, not others))

    def drain(self, task: Task) -> None:
        """The task's main process ended: end what it left running (SIGTERM now, unless a kill or timeout sent
        it already; SIGKILL ``grace`` s after the SIGTERM). ``sweep`` follows up until nothing is left."""
        left = self.members(task)
        if not left:
            return
        now = time.monotonic()
        if task.term_at is None:
            self.reaper.signal(left, signal.SIGTERM)
            task.term_at = now
        task.drain_until = task.term_at + self.grace
        self.draining.append(task)
        self.schedule(max(0.0, task.drain_until - now), self.wake)

    def sweep(self) -> None:
        """Forget the ended tasks whose leftovers are gone; SIGKILL those whose grace has passed (again at each
        look: a process may have forked between the listing and the signal). A process that SIGKILL cannot end
        (stuck in the kernel) is given up after GIVE_UP s, so that the shepherd still exits."""
        now = time.monotonic()
        for task in list(self.draining):
            left = self.members(task)
            if not left or now > task.drain_until + GIVE_UP:
                self.draining.remove(task)
                if task.slot is not None:
                    self.free_slots.append(task.slot)
            elif now >= task.drain_until:
                self.reaper.signal(left, signal.SIGKILL)
                self.schedule(0.05, self.wake)  # their exits wake us; this only bounds a missed one

    def kill(self, ids: set[str] | None, sig: int) -> dict[str, str]:
        """Kill the tasks ``ids`` (None: all): "ok", or "ended" for one that had. One pass, whatever the
        number: `drmaa2 kill` of a 5,000-task array sends one request."""
        answers = {}
        waiting = {id(t) for t in self.pending}
        killed = set()
        for task in self.tasks:
            if ids is not None and task.id not in ids:
                continue
            answers[task.id] = "ok"
            if id(task) in waiting:
                killed.add(id(task))
                self.finish(task, annotation="killed by drmaa2 kill before it started")
            elif task.pid in self.running:
                task.killed_with = sig
                self.signal_task(task, sig, graceful=True)
            else:
                answers[task.id] = "ended"
        if killed:
            self.pending = [t for t in self.pending if id(t) not in killed]
        return answers

    def control(self, request: dict[str, Any]) -> Any:
        """The answer to a request: for one task (``task``) or the group (no task) one word, "ok" when it was
        done; for a list of tasks (``tasks``), a word per task."""
        op, task_id, many = request.get("op"), request.get("task"), request.get("tasks")
        ids = set(many) if isinstance(many, list) else None if task_id is None else {task_id}
        if op == "kill":
            answers = self.kill(ids, int(request.get("signal") or signal.SIGTERM))
        elif op in ("hold", "release"):
            targets = [t for t in self.tasks if ids is None or t.id in ids]
            if op == "hold":
                self.held |= {t.id for t in targets}
            else:
                self.held -= {t.id for t in targets}
            waiting = {id(t) for t in self.pending}
            answers = {t.id: "ok" if id(t) in waiting else "started" if t.pid in self.running else "ended"
                       for t in targets}
        else:
            return "unknown request"
        if many is not None:
            return answers
        if task_id is not None:
            return answers.get(task_id, "ended")
        # The whole group (a SIGTERM, older clients): "ok" when it reached a task.
        return "ok" if op != "kill" or "ok" in answers.values() else "ended"

    def serve(self) -> None:
        """Act on the control requests and a SIGTERM that came since the last look (main loop only)."""
        if self.term_due:
            self.term_due = False
            self.kill(None, signal.SIGTERM)
        if not self.control_due:
            return
        self.control_due = False
        prefix = self.id + ".ctl."
        for name in sorted(os.listdir(self.run_dir)):
            if not name.startswith(prefix) or name.endswith(".tmp"):
                continue
            path = os.path.join(self.run_dir, name)
            request = read_request(path) or {}
            try:  # gone before the answer, so that a requester that has its answer finds no request left
                os.unlink(path)
            except OSError:
                pass
            answer = self.control(request)
            reply = request.get("reply")
            if isinstance(reply, str) and "/" not in reply and reply.startswith(self.id + ".ack."):
                try:
                    write_json(os.path.join(self.run_dir, reply), {"result": answer})
                except OSError:
                    pass

    def on_control(self, signum: int, frame: object) -> None:
        self.control_due = True  # the wakeup fd has woken the main loop already

    def on_term(self, signum: int, frame: object) -> None:
        self.term_due = True

    def next_task(self) -> Task | None:
        if len(self.running) >= self.max_parallel:
            return None
        for task in self.pending:
            if task.id not in self.held:
                return task
        return None

    def wake(self) -> None:
        try:
            os.write(self.wake_w, b"x")
        except BlockingIOError:
            pass

    def sleep_until_woken(self, timeout: float | None = None) -> None:
        select.select([self.wake_r], [], [], timeout)
        try:
            os.set_blocking(self.wake_r, False)
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass

    # --- the gate: dependencies and hold ---------------------------------------------------------------
    def dependency_failure(self) -> str | None:
        """Wait for every dependency to end; the reason this job must not run, or None."""
        after = self.spec.get("after") or {}
        for dep in after.get("jobs", []):
            while True:
                self.serve()
                if not self.pending:
                    return None  # everything was killed meanwhile
                result = exit_record(dep)
                if result is not None:
                    break
                pid, ticks = dep.get("pid"), dep.get("ticks")
                if pid is None or proc_start(pid) != ticks:
                    result = exit_record(dep) or {"annotation": "its supervisor died"}
                    break
                try:
                    fd = os.pidfd_open(pid)
                except OSError:
                    continue
                try:
                    select.select([fd, self.wake_r], [], [])
                finally:
                    os.close(fd)
                self.sleep_until_woken(0)
                self.serve()
            ok = result.get("exit_status") == 0 and result.get("signal") is None
            if not ok and after.get("mode") != "any":
                return "dependency %s failed (%s)" % (dep["id"], describe(result))
        return None

    # --- tasks --------------------------------------------------------------------------------------------
    def finish(self, task: Task, **result: Any) -> None:
        if task.slot is not None:
            remove_tree(self.tmpdir(task.slot), keep=True)  # the task's TMPDIR (see spawn), emptied for the next
            if task not in self.draining:  # else once its leftovers are gone (sweep)
                self.free_slots.append(task.slot)
        result["finish_time"] = time.time()
        self.record(task, "exit", result)
        task.done = True
        self.notify(task, result)

    def notify(self, task: Task, result: dict[str, Any] | None = None) -> None:
        """Queue the notifier (``notify/fire.py``) for a task's start (``result`` None) or end, when the job
        asked for notifications: a short-lived process of its own in a session of its own, after the state is
        on disk, so that neither its imports nor a slow hook weigh on the shepherd or the job. The hook runs
        for every task; an array's mail is one at its first task's start and one once its last task ended (as
        sbatch's mail for an array as a whole), not one per task."""
        orders = self.spec.get("notify")
        if not orders:
            return
        env = dict(os.environ)
        env.update(orders["vars"])
        env.update(task.spec.get("env", {}))
        ok = result is not None and result.get("exit_status") == 0 and result.get("signal") is None
        if result is None:
            env["DRMAA2_EVENT"], env["DRMAA2_JOB_STATE"] = "begin", "running"
        else:
            self.ended += 1
            self.failed += not ok
            env["DRMAA2_EVENT"], env["DRMAA2_JOB_STATE"] = ("end", "done") if ok else ("fail", "failed")
            for key, name in (("exit_status", "DRMAA2_EXIT_STATUS"), ("signal", "DRMAA2_SIGNAL"),
                              ("annotation", "DRMAA2_ANNOTATION")):
                if result.get(key) is not None:
                    env[name] = str(result[key])
        if len(self.tasks) == 1:
            self.notify_queue.append((orders["argv"], env))
        else:
            if orders["hook"]:
                self.notify_queue.append((orders["hook"], env))
            if orders["mail"] and (self.ended == len(self.tasks) if result is not None else not self.mailed):
                self.mailed = True
                whole = {k: v for k, v in env.items() if k not in ("DRMAA2_TASK_ID", "DRMAA2_EXIT_STATUS",
                                                                    "DRMAA2_SIGNAL", "DRMAA2_ANNOTATION")}
                if result is not None:
                    state = ("fail", "failed") if self.failed else ("end", "done")
                    whole["DRMAA2_EVENT"], whole["DRMAA2_JOB_STATE"] = state
                    whole["DRMAA2_ANNOTATION"] = "%d of %d tasks failed" % (self.failed, len(self.tasks))
                self.notify_queue.append((orders["mail"], whole))
        self.spawn_notifiers(orders["log"])

    def spawn_notifiers(self, log: str) -> None:
        """Start queued notifiers, at most MAX_NOTIFIERS at once: `drmaa2 kill` of a large array ends all its
        waiting tasks in one pass, and their notifiers must not start all at once."""
        while self.notify_queue and len(self.notifiers) < MAX_NOTIFIERS:
            argv, env = self.notify_queue.pop(0)
            try:
                pid = os.posix_spawn(argv[0], argv, env, setsid=True, setsigdef=RESET_SIGNALS, setsigmask=(),
                                     file_actions=[
                                         (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                                         (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                         (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                                          0o600)])
            except OSError:
                continue  # no notifier: the job's own record is what matters
            self.notifiers.add(pid)

    def flush_notifiers(self) -> None:
        """Before the shepherd exits: start the notifiers still queued as earlier ones end."""
        orders = self.spec.get("notify")
        while self.notify_queue and orders:
            self.spawn_notifiers(orders["log"])
            if not self.notify_queue:
                return
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                self.notifiers.clear()
                continue
            self.notifiers.discard(pid)

    def open_stdio(self, task: Task) -> list[int]:
        spec = task.spec
        # Non-blocking open: the input may be the named pipe of a `drmaa2 run`, and a run that died must not
        # leave the shepherd waiting for a writer forever (the job then reads end of file). Reads block again.
        if self.spec.get("stdin"):
            stdin = os.open(self.spec["stdin"], os.O_RDONLY | os.O_NONBLOCK)
            os.set_blocking(stdin, True)
        else:
            if self.null is None:  # one for every task: an array's tasks share it
                self.null = os.open(os.devnull, os.O_RDONLY)
            stdin = self.null
        fds = [stdin]
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fds.append(os.open(spec["stdout"], flags, 0o600))
        if spec["stderr"] != spec["stdout"]:
            fds.append(os.open(spec["stderr"], flags, 0o600))
        else:
            fds.append(fds[1])
        return fds

    def spawn(self, task: Task) -> None:
        try:
            if self.journal is None:
                reserve(task.start_path)
                reserve(task.exit_path)
            else:  # the records of this task and of every running one
                self.journal.room(2 * (len(self.running) + 1))
        except OSError as e:
            try:  # with no room at all, nothing can be written
                self.finish(task, annotation="cannot start: %s in %s" % (e.strerror, self.run_dir))
            except OSError:
                pass
            return None
        try:
            fds = self.open_stdio(task)
        except OSError as e:
            return self.finish(task, annotation="cannot open %s: %s" % (e.filename, e.strerror))
        env = dict(self.env)
        env.update(task.spec.get("env", {}))
        task.slot = self.take_slot()
        tmp = self.tmpdir(task.slot)
        try:  # a private TMPDIR, in the drmaa2 home's run directory (0700), emptied by finish
            os.mkdir(tmp, 0o700)
        except FileExistsError:
            pass  # the slot's, emptied when its last task ended (made again if that task removed it)
        except OSError:
            tmp = ""  # the job keeps the TMPDIR it was given
        if tmp:
            env["TMPDIR"] = tmp
        argv = self.spec["argv"]
        if self.oom_seen == -1:  # once per round of the main loop: /proc/vmstat is long to read
            self.oom_seen = oom_kills()
        task.oom_kills = self.oom_seen
        self.enter_cgroup(task)
        try:
            os.environ["PATH"] = env.get("PATH", os.defpath)  # posix_spawnp searches the job's own PATH
            task.pid = os.posix_spawnp(
                argv[0],
                argv,
                env,
                file_actions=[(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(fds)],
                setpgroup=0,
                setsigdef=RESET_SIGNALS,
                setsigmask=(),
            )
        except OSError as e:
            failure: OSError | None = e
        else:
            failure = None
        finally:
            self.leave_cgroup(task)
            for fd in set(fds) - {self.null}:
                os.close(fd)
        if failure is not None:
            self.close_cgroup(task, {})  # kept for the slot's next task, or removed (the shepherd is out of it)
            if failure.errno == 2:
                return self.finish(task, exit_status=127, annotation="command not found: %s" % argv[0])
            return self.finish(task, exit_status=126, annotation="cannot run %s: %s" % (argv[0], failure.strerror))
        assert task.pid is not None
        self.running[task.pid] = task
        self.record(task, "start", {"pid": task.pid, "proc_start": proc_start(task.pid),
                                    "dispatch_time": time.time(),
                                    "cgroup": task.cgroup[0] if task.cgroup else None,
                                    "subreaper": self.reaper is not None})
        self.notify(task)
        if self.timeout:
            self.schedule(float(self.timeout), lambda t=task: self.on_timeout(t))  # type: ignore[misc]

    def take_slot(self) -> int:
        if self.free_slots:
            return self.free_slots.pop()
        self.slot_count += 1
        return self.slot_count - 1

    def tmpdir(self, slot: int) -> str:
        return os.path.join(self.run_dir, "%s-%d.tmp" % (self.id, slot))

    def release_slots(self) -> None:
        """Before the shepherd exits: remove the slots' TMPDIRs and kept cgroups."""
        for slot in range(self.slot_count):
            remove_tree(self.tmpdir(slot))
        for _, paths, _, _ in self.kept.values():
            self.cg.remove(paths)
        self.kept.clear()

    def enter_cgroup(self, task: Task) -> None:
        """Move this shepherd into the cgroup of the task's slot (kept from its last task on v1, else made now), so
        that the task starts there (a child starts in its parent's cgroup); ``leave_cgroup`` moves it back once
        the task is spawned. A cgroup that cannot be made leaves the task in its process group only."""
        if self.plan is None:
            return
        if self.cg is None:
            from . import cgroup

            self.cg = cgroup
            self.plan = self.cg.needed(self.plan, self.spec.get("cpus"))
        assert task.slot is not None
        kept = self.kept.pop(task.slot, None)
        if kept is not None:
            name, paths, task.cgroup_charged, task.cgroup_ooms = kept
        else:
            # Unique among the running jobs of every drmaa2 home: no other live shepherd has this pid.
            name = "%d-%d" % (os.getpid(), task.slot)
            try:
                paths = self.cg.create(self.plan, name, self.spec.get("memory"), self.spec.get("cpus"))
            except OSError:
                return
            task.cgroup_charged = task.cgroup_ooms = 0
        try:
            self.cg.join(paths, os.getpid())
        except OSError:
            self.leave_cgroup(task)
            self.cg.remove(paths)
            return
        task.cgroup, task.cgroup_name = paths, name

    def leave_cgroup(self, task: Task) -> None:
        if self.plan is not None and self.cg is not None:
            homes = []
            for path in self.plan["home"].values():
                if path not in homes:
                    homes.append(path)
            try:
                self.cg.join(homes, os.getpid())
            except OSError:
                pass

    def close_cgroup(self, task: Task, result: dict[str, Any]) -> bool:
        """End whatever the task left running, take its figures from its cgroup into ``result`` and keep the
        cgroup for the slot's next task (v1) or remove it; whether the OOM killer struck in it."""
        if task.cgroup is None:
            return False
        empty = self.cg.kill_all(self.plan, task.cgroup)
        cpu, peak, ooms = self.cg.counts(self.plan, task.cgroup_name)
        if cpu is not None:
            result["cpu_time"] = cpu
        if peak is not None:  # net of what its slot's last task left charged (recycle)
            result["max_rss"] = max(0, peak - task.cgroup_charged // 1024)
        oom = ooms is not None and ooms > task.cgroup_ooms
        charged = self.cg.recycle(self.plan, task.cgroup_name) if empty else None
        if charged is None or task.slot is None:
            self.cg.remove(task.cgroup)
        else:
            self.kept[task.slot] = (task.cgroup_name, task.cgroup, charged, ooms or 0)
        task.cgroup = None
        return oom

    def on_timeout(self, task: Task) -> None:
        if task.pid in self.running:
            task.timed_out = True
            self.signal_task(task, signal.SIGTERM, graceful=True)

    def reap_exited(self) -> None:
        """Reap every child that exited: a task's main process, or an orphan that came back to us (subreaper)."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.reap(pid, status, usage)

    def reap(self, pid: int, status: int, usage: Any) -> None:
        task = self.running.pop(pid, None)
        if task is None:
            self.notifiers.discard(pid)
            return
        result: dict[str, Any] = {
            "exit_status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_time": usage.ru_utime + usage.ru_stime,
            "max_rss": usage.ru_maxrss,
        }
        oom = self.close_cgroup(task, result)
        if self.reaper is not None:
            self.drain(task)
        # Name the signal that ended the task, which is not the one sent when SIGTERM was ignored or trapped.
        how = None
        if task.escalated and result["signal"] == signal.SIGKILL:
            how = "SIGKILL after SIGTERM was ignored for %gs" % self.grace
        elif result["signal"] is not None:
            how = signame(result["signal"])
        if task.timed_out:
            # To a tenth of a second, as ending.seconds says it (a deadline's limit is 2.987 s, say).
            result["annotation"] = "timed out after %gs" % round(float(self.timeout or 0), 1)
            if task.escalated and how is not None:
                result["annotation"] += " (%s)" % how
        elif task.killed_with is not None:
            if how is None:
                how = "%s, then it exited with status %s" % (signame(task.killed_with), result["exit_status"])
            result["annotation"] = "killed by drmaa2 kill (%s)" % how
        elif oom and result["signal"] == signal.SIGKILL:
            result["annotation"] = out_of_memory(self.spec.get("memory"))
        elif result["signal"] is not None:
            result["annotation"] = "killed by signal %d (%s)" % (result["signal"], signame(result["signal"]))
            # Not the job's cgroup's OOM kill (none, or the job moved a process out of it): the machine's.
            if result["signal"] == signal.SIGKILL and self.oom_killer_ran(task):
                result["annotation"] += ", probably out of memory: the kernel's OOM killer ran while it ran"
        elif result["exit_status"]:
            result["annotation"] = "exited with status %d" % result["exit_status"]
            if oom:
                result["annotation"] += " (a process of the job was OOM killed)"
        self.finish(task, **result)

    def oom_killer_ran(self, task: Task) -> bool:
        # The kernel does not tell the parent whom its OOM killer chose (the job may have moved itself into a
        # cgroup of its own); a SIGKILL that drmaa2 did not send while the OOM killer was at work is the
        # likely story, and the annotation says "probably".
        now = oom_kills()
        return task.oom_kills is not None and now is not None and now > task.oom_kills

    def listen(self) -> None:
        """Install the signal handlers. Python runs a handler only between two bytecodes, so a signal that
        arrives just before select() is entered would not interrupt it: the wake-up would be lost, and a job
        that ended then would never be reaped (seen with 100 jobs killed at once). With a wakeup fd the C-level
        handler writes to the wake pipe on delivery, and select() returns whenever a signal came."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGUSR1, self.on_control)
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGALRM, self.on_alarm)
        signal.signal(signal.SIGCHLD, lambda signum, frame: self.wake())
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Blocked by the submitter until now (see the module docstring); a pending one is delivered here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])

    def run(self) -> None:
        self.listen()
        self.open_journal()  # the tasks' output files exist already: their submitter made them
        try:
            self.start_all()
            self.release_slots()
            self.flush_notifiers()
        finally:
            # Answer what came last (the requester learns the task ended) and leave no request behind.
            self.control_due = True
            self.serve()

    def start_all(self) -> None:
        self.serve()  # requests that came before we listened
        self.env = dict(os.environ)
        self.env.update(self.spec.get("env", {}))
        if self.spec.get("cwd"):
            try:
                os.chdir(self.spec["cwd"])
            except OSError as e:
                reason = "cannot enter working directory %s: %s" % (self.spec["cwd"], e.strerror)
                for task in self.pending:
                    self.finish(task, annotation=reason)
                self.pending.clear()  # ended: a late request must not write another record
                return
        failure = self.dependency_failure()
        if failure is not None:
            for task in self.pending:
                self.finish(task, annotation=failure)
            self.pending.clear()
            return
        if self.plan is None and self.spec.get("subreaper"):
            from . import subreaper

            if subreaper.become() is None:
                self.reaper = subreaper
        while self.pending or self.running or self.draining:
            # Reap before spawning: a slot freed now must be used before we sleep; serve before spawning: a
            # kill or hold that came meanwhile must stop a task from starting.
            self.oom_seen = -1
            self.reap_exited()
            if self.notify_queue:
                self.spawn_notifiers(self.spec["notify"]["log"])
            self.serve()
            if self.draining:
                self.sweep()
            nxt = self.next_task()
            while nxt is not None:
                self.pending.remove(nxt)
                self.spawn(nxt)
                nxt = self.next_task()
            if self.pending or self.running or self.draining:
                self.sleep_until_woken()  # SIGCHLD, a control request or a timer wakes us

def main() -> None:
    chunks = []
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    if not chunks:
        return  # the submitter exited before committing the job: nothing may start
    spec = marshal.loads(b"".join(chunks))
    shepherd = Shepherd(spec)
    try:
        shepherd.run()
    except Exception as e:  # the exit files are the only place anyone will look
        for task in shepherd.tasks:
            if not task.done:
                try:
                    shepherd.finish(task, annotation="supervisor error: %s: %s" % (type(e).__name__, e))
                except OSError:
                    pass
    # Every record is on disk and stdout/stderr are /dev/null: end now, without the interpreter's teardown,
    # because a single job's `drmaa2 wait` is woken by this exit.
    os._exit(0)


if __name__ == "__main__":
    main()

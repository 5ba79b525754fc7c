"""Jobs through a DRMAA v1 library (``libdrmaa.so`` at ``$DRMAA_LIBRARY_PATH``): one backend for every scheduler
that ships one. Tested on Grid Engine's (Debian's gridengine-drmaa1.0).

- The library is loaded only by ``agent.py``, in a process of its own (see there): the CLI never pays for it, and
  a library that needs a preloaded malloc gets one.
- A submission starts a *keeper* in ``prepare`` (its session open shows that the library and the scheduler
  answer before any record exists), hands it the job in ``start`` and lets it go: it waits in its DRMAA session
  until its jobs end and writes each one's result (exit status, signal, usage) to ``run/libdrmaa/ID.json``.
  DRMAA v1 tells how a job ended only to a session open when it ended, and only once; a reconnection by contact
  string after the fact finds nothing (tried on Grid Engine 8.1.9), so the keeper stays.
- State, hold, release, suspend, resume and the scheduler's delete go through ``jobStatus``/``control`` by job
  id, from any drmaa2 process (Grid Engine's library answers for any job of the user).
- The job is ``/bin/sh SCRIPT``: the script (``common.job_script``, written to ``run/libdrmaa/``) exports the
  environment and execs the exact command, after starting the watcher that carries out ``drmaa2 kill``'s
  SIGTERM-then-SIGKILL and ``--timeout`` as on the Slurm and Grid Engine backends (DRMAA's terminate is one
  SIGKILL). A script file, not ``sh -c``: Grid Engine's library cuts an argument at its first newline.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ...errors import (
    BackendUnavailable,
    DeniedByDrms,
    Drmaa2Error,
    ExitStatus,
    InvalidArgument,
    InvalidState,
    UnsupportedAttribute,
    UnsupportedOperation,
)
from ...files import write_atomically
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ...procfs import alive, proc_start
from ..base import Backend, BackendContext, Launch
from ..contract import NO_IMAGES, Refusal
from ..sched import common
from ..sched.gridengine import GridEngineBackend, private_streams
from . import DATA_SHAPE, mapping

AGENT = Path(__file__).resolve().with_name("agent.py")
#: Seconds a library call (the agent) may take before the scheduler counts as not answering.
CALL_TIMEOUT = 60.0
#: How long ``wait_any`` looks only at result files before it lets the caller ask the library again (a keeper
#: that died leaves none).
WATCH_SECONDS = 10.0
_QUEUED = (JobState.QUEUED, JobState.QUEUED_HELD, JobState.REQUEUED, JobState.REQUEUED_HELD,
           JobState.UNDETERMINED)


def _error(kind: str, message: str) -> Drmaa2Error:
    """The agent's complaint as a drmaa2 error. A job the scheduler rejected (DRMAA's DENIED_BY_DRM) is a
    refusal of the job (201), as the gridengine backend reports qsub's, unless the scheduler's words say the
    user may not (208)."""
    if kind == "unavailable":
        return BackendUnavailable(message)
    if kind == "denied" or (kind == "rejected" and any(w in message.lower() for w in GridEngineBackend.denied)):
        return DeniedByDrms(message)
    if kind in ("gone", "state"):
        return InvalidState(message)
    return InvalidArgument(message)


class Agent:
    """Runs ``agent.py`` with the backend's environment."""

    def __init__(self, ctx: BackendContext) -> None:
        env = dict(ctx.environ)
        preload = ctx.settings.get("preload")
        if preload:  # saves the agent its second start (see agent._load)
            env["LD_PRELOAD"] = " ".join(filter(None, (env.get("LD_PRELOAD"), str(preload))))
        self.env = env

    def argv(self, op: str) -> list[str]:
        return [sys.executable, str(AGENT), op]

    def call(self, op: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """One ``status`` or ``control`` call. Raises BackendUnavailable when the agent does not answer."""
        try:
            proc = subprocess.run(self.argv(op), input=json.dumps(request).encode(), capture_output=True,
                                  env=self.env, timeout=CALL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as e:
            raise BackendUnavailable(f"the DRMAA library did not answer within {CALL_TIMEOUT:g} s") from e
        return self.reply(proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))

    @staticmethod
    def reply(out: str, err: str) -> dict[str, Any]:
        """The agent's last JSON line; its error as a drmaa2 error."""
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            last = (err.strip().splitlines() or ["no answer"])[-1]
            raise BackendUnavailable(f"the DRMAA agent failed: {last}")
        answer: dict[str, Any] = json.loads(lines[-1])
        if "error" in answer:
            raise _error(str(answer.get("kind")), str(answer["error"]))
        return answer


class LibDrmaaLaunch(common.SchedLaunch):
    """A keeper with its session open, waiting for the job (or array) to submit."""

    def __init__(self, backend: LibDrmaaBackend, template: JobTemplate, array: ArraySpec | None) -> None:
        super().__init__(backend.ctx, template, array)
        self.backend = backend
        self.keeper: subprocess.Popen[bytes] | None = None
        self.contact = ""

    def open(self) -> None:
        """Start the keeper, wait for its session and have it ask the scheduler whether it would take the job
        (``agent.verify``), so that a job it rejects is refused before any record exists. Raises
        BackendUnavailable, DeniedByDrms, InvalidArgument."""
        files = self.backend.run_dir
        files.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        files.mkdir(mode=0o700, exist_ok=True)
        agent = self.backend.agent
        with open(files / "keeper.log", "ab") as log:
            os.chmod(files / "keeper.log", 0o600)
            # In a session of its own (a Ctrl-C of the submitter does not reach it), and in "/" so that it keeps
            # no directory of the user's busy while it waits.
            self.keeper = subprocess.Popen(agent.argv("keeper"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=log, env=agent.env, start_new_session=True, cwd="/")
        assert self.keeper.stdout is not None
        line = self.keeper.stdout.readline().decode(errors="replace")
        try:
            answer = Agent.reply(line, "")
            self.contact = str(answer.get("contact", ""))
            self._verify()
        except Drmaa2Error:
            self.abort()
            raise

    def _verify(self) -> None:
        keeper = self.keeper
        assert keeper is not None and keeper.stdin is not None and keeper.stdout is not None
        paths = self.paths(self.template, "0")
        orders = mapping.orders(self.template, paths, str(self.backend.script_path("0")), self.array, [], "")
        try:
            keeper.stdin.write(json.dumps({"verify": orders}).encode() + b"\n")
            keeper.stdin.flush()
        except OSError as e:
            raise BackendUnavailable(f"the DRMAA keeper went away: {e}") from e
        Agent.reply(keeper.stdout.readline().decode(errors="replace"), "")

    def start(self, job: JobInfo) -> JobInfo | None:
        return self.start_all([job])[0]

    def start_all(self, jobs: list[JobInfo]) -> list[JobInfo]:
        """Write the job script, hand the keeper its orders, read back the scheduler's ids. Raises what the
        library said about the submission."""
        if not jobs:
            self.abort()
            return []
        ctx = self.backend.ctx
        os.makedirs(ctx.output_dir, mode=0o700, exist_ok=True)
        common.create_private(p for job in jobs for p in (job.output_path, job.error_path))
        number = jobs[0].id.split(".", 1)[0]
        if self.array is None:
            # The record's template, whose paths have their placeholders filled; its queue may be a local
            # one, which is drmaa2's: the scheduler's is the one ``prepare`` was given.
            template = replace(jobs[0].template, queue_name=self.template.queue_name)
            paths = self.paths(template, jobs[0].id)
            spec = common.JobSpec(jobs[0].id, jobs[0].session, template.argv, template.job_environment,
                                  control=common.control_prefix(ctx, jobs[0].id), timeout=template.timeout)
        else:
            template = self.task_template(number, common.TASK_MARK)
            paths = self.paths(template, f"{number}.{common.TASK_MARK}")
            spec = common.JobSpec(number, jobs[0].session, template.argv, template.job_environment,
                                  mapping.TASK_INDEX, control=common.control_prefix(ctx, number),
                                  timeout=template.timeout)
        if common.own_names(paths):
            spec = replace(spec, private=private_streams(paths))
        script = self.backend.script_path(number)
        write_atomically(str(script), common.job_script(spec), durable=False)
        orders = mapping.orders(template, paths, str(script), self.array, [j.id for j in jobs],
                                str(self.backend.run_dir))
        keeper = self.keeper
        assert keeper is not None and keeper.stdin is not None and keeper.stdout is not None
        try:
            keeper.stdin.write(json.dumps(orders).encode())
            keeper.stdin.close()
            answer = Agent.reply(keeper.stdout.readline().decode(errors="replace"), "")
        except OSError as e:
            raise BackendUnavailable(f"the DRMAA keeper went away: {e}") from e
        finally:
            keeper.stdout.close()
        ids = [str(i) for i in answer["ids"]]
        if len(ids) != len(jobs):
            raise BackendUnavailable(f"the DRMAA library gave {len(ids)} job ids for {len(jobs)} jobs")
        who = {"host": socket.gethostname(), "pid": keeper.pid, "start": proc_start(keeper.pid) or 0}
        out = []
        for job, native in zip(jobs, ids, strict=True):
            data = {**job.backend_data, "contact": self.contact, "keeper": who}
            if self.array is not None:
                data["array_job"] = native.split(".", 1)[0]
            out.append(common.named(job, native).evolve(backend_data=data))
        return out

    def abort(self) -> None:
        if self.keeper is not None:
            for stream in (self.keeper.stdin, self.keeper.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()


#: How many times (0.2 s apart) a hold is looked at again while the job still shows "queued".
HOLD_CHECKS = 10


class LibDrmaaBackend(Backend):
    """Jobs on the scheduler behind ``$DRMAA_LIBRARY_PATH``. Settings: ``preload`` (a library to preload
    into the agent, e.g. libjemalloc for Grid Engine's libdrmaa; found by itself when not set)."""

    name: ClassVar[str] = "libdrmaa"
    script_family: ClassVar[str | None] = "qsub"  # Grid Engine's own library
    native_features: ClassVar[frozenset[str]] = frozenset({"array", "hold"})
    # ``--queue``: a local queue of the config, else the scheduler's (``-q`` on Grid Engine's library).
    unsupported_fields: ClassVar[tuple[str, ...]] = ("job_category", "stage_in_files", "resource_limits")
    extensions: ClassVar[frozenset[str]] = frozenset({"native"})
    #: ``--mail-type`` reaches the scheduler as qsub's ``-m``/``-M`` in the DRMAA native specification (Grid
    #: Engine's mailer sends it, as on the gridengine backend): drmaa2 sends none, never two mails for one event.
    notifies: ClassVar[frozenset[str]] = frozenset({"mail"})
    # DRMAA v1 has no monitoring interface: the library names no host and no queue.
    refuses: ClassVar[Mapping[str, Refusal]] = {
        "machines": Refusal("a DRMAA v1 library does not list execution hosts", ExitStatus.UNSUPPORTED),
        "queues": Refusal("a DRMAA v1 library does not list queues", ExitStatus.UNSUPPORTED),
        "array-list": Refusal("a DRMAA v1 bulk job is one range FIRST-LAST[:STEP] of indices from 1 (runBulkJobs)",
                              ExitStatus.USAGE),
        **NO_IMAGES,
    }
    data_shape = DATA_SHAPE

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.agent = Agent(ctx)
        self.run_dir = ctx.home / "run" / "libdrmaa"

    def script_path(self, number: str) -> Path:
        return self.run_dir / f"{number}.sh"

    def _result(self, job: JobInfo) -> dict[str, Any] | None:
        try:
            with open(self.run_dir / f"{job.id}.json", encoding="utf-8") as f:
                data: dict[str, Any] = json.load(f)
        except (OSError, ValueError):
            return None
        return data

    # --- submission ---------------------------------------------------------------------------------
    def prepare(
        self, template: JobTemplate, *, array: ArraySpec | None = None, after: Dependencies | None = None
    ) -> Launch:
        """Check the template and its directories, then open the keeper's session: raises InvalidArgument,
        UnsupportedAttribute, BackendUnavailable (no library, the scheduler does not answer), DeniedByDrms."""
        self.check_template(template)
        if after is not None:
            raise UnsupportedAttribute("the libdrmaa backend leaves dependencies to drmaa2's runner")
        if array is not None:
            mapping.check_array(array)
        if not self.ctx.environ.get("DRMAA_LIBRARY_PATH"):
            raise BackendUnavailable("DRMAA_LIBRARY_PATH is not set: it names the DRMAA v1 library "
                                     "(libdrmaa.so) to use")
        if template.timeout is not None and template.timeout <= 0:
            raise InvalidArgument("the timeout must be positive")
        launch = LibDrmaaLaunch(self, template, array)
        common.job_script(common.JobSpec("0", "", template.argv, template.job_environment))  # bad names
        common.check_local_paths(self.ctx, launch.paths(template, "0"))
        launch.open()
        return launch

    # --- observation --------------------------------------------------------------------------------
    def _ended(self, job: JobInfo, result: dict[str, Any]) -> JobInfo:
        ended = mapping.apply_result(job, result)
        return common.how_it_ended(ended, common.control_prefix(self.ctx, job.id))

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        """Results the keepers wrote, then one ``jobStatus`` call for the jobs without one. A job the library
        calls ended (or no longer knows) whose keeper is gone ended unobserved (``mapping.LOST``)."""
        changed: list[JobInfo] = []
        ask: list[JobInfo] = []
        for job in jobs:
            if not job.native_id or job.state.final:
                continue
            result = self._result(job)
            if result is not None:
                changed.append(self._ended(job, result))
            else:
                ask.append(job)
        if ask:
            states = self.agent.call("status", {"ids": [j.native_id for j in ask]})["states"]
            now = time.time()
            for job in ask:
                answer = states.get(str(job.native_id)) or {}
                state = mapping.state_of(str(answer.get("state")))
                if state is not None:
                    new = job.evolve(state=state)
                    if state in (JobState.RUNNING, JobState.SUSPENDED) and job.dispatch_time is None:
                        new = new.evolve(dispatch_time=now)
                    changed.append(new)
                    continue
                result = self._result(job)  # the keeper may have written it since
                if result is None and not self._keeper_alive(job):
                    result = {"lost": str(answer.get("state") or answer.get("error")), "at": now,
                              "exited": answer.get("state") == "done", "exit_status": None}
                if result is not None:
                    changed.append(self._ended(job, result))
        old = {j.id: j for j in jobs}
        return [j for j in changed if j != old[j.id]]

    @staticmethod
    def _keeper_alive(job: JobInfo) -> bool:
        who = job.backend_data.get("keeper") or {}
        if who.get("host") != socket.gethostname():
            return True  # submitted elsewhere: its keeper cannot be seen from here
        return alive(who.get("pid"), who.get("start"))

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        """Until a keeper wrote the result of one of ``jobs`` (files, no library call), ``timeout``, or
        WATCH_SECONDS (the caller then asks the library: a keeper may have died)."""
        if not jobs or any(not j.native_id for j in jobs):
            return
        limit = WATCH_SECONDS if timeout is None else min(timeout, WATCH_SECONDS)
        common.poll_until(lambda: any((self.run_dir / f"{j.id}.json").exists() for j in jobs), limit)

    # --- control ------------------------------------------------------------------------------------
    def _control(self, action: str, jobs: Sequence[JobInfo]) -> tuple[dict[str, Any], dict[str, Any]]:
        answer = self.agent.call("control", {"action": action, "ids": [j.native_id for j in jobs]})
        return answer["results"], answer["states"]

    def _native(self, job: JobInfo) -> str:
        if not job.native_id:
            raise InvalidState(f"job {job.id} has no DRMAA job id")
        if self._result(job) is not None:
            raise InvalidState(f"job {job.id} has already ended")
        return job.native_id

    def _one(self, job: JobInfo, action: str) -> str | None:
        """Do ``action`` to one job; the state the library reports afterwards. Raises InvalidState, ..."""
        self._native(job)
        results, states = self._control(action, [job])
        problem = self._problem(job, results)
        if problem is not None:
            raise problem
        state: str | None = states.get(str(job.native_id))
        return state

    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """SIGTERM (the default) through the job's watcher, SIGKILL after the grace period, as on the scheduler
        backends; SIGKILL also through the library's terminate at once; a job that has not started is
        deleted by the library. DRMAA sends no other signal (UnsupportedOperation). Raises InvalidState."""
        if signal not in (None, 9, 15):
            raise UnsupportedOperation(f"DRMAA cannot send signal {signal}; it can only terminate jobs")
        self._native(job)
        common.write_control(common.control_prefix(self.ctx, job.id) + ".kill", "9" if signal == 9 else "15")
        if signal == 9:
            self._one(job, "terminate")
        elif job.state in _QUEUED:
            # Only a job that still waits is deleted (the library's terminate is SIGKILL to a running one):
            # held first, so that it cannot start between the look and the delete.
            state = self._one(job, "hold")
            if state is not None and mapping.state_of(state) is JobState.QUEUED_HELD:
                self._one(job, "terminate")
            else:
                with contextlib.suppress(Drmaa2Error):
                    self._one(job, "release")
        elif job.state is JobState.SUSPENDED:
            self._one(job, "resume")  # its watcher is stopped with it

    def hold(self, job: JobInfo) -> None:
        """Only a queued job can be held, and the hold counts only if it still waits afterwards."""
        if job.state not in _QUEUED:
            raise InvalidState(f"job {job.id} is {job.state.value}: only queued jobs can be held")
        state = mapping.state_of(self._one(job, "hold") or "")
        # A job the scheduler was dispatching takes the hold without effect: it shows "queued" for a moment,
        # then runs. The hold counts only once the library shows it held.
        for _ in range(HOLD_CHECKS):
            if state is not JobState.QUEUED:
                break
            time.sleep(0.2)
            answer = self.agent.call("status", {"ids": [job.native_id]})["states"].get(str(job.native_id)) or {}
            state = mapping.state_of(str(answer.get("state")))
        if state is not JobState.QUEUED_HELD:
            with contextlib.suppress(Drmaa2Error):
                self._one(job, "release")
            raise InvalidState(f"job {job.id} has started; only queued jobs can be held")

    def release(self, job: JobInfo) -> None:
        self._one(job, "release")

    def suspend(self, job: JobInfo) -> None:
        common.check_control(job, "suspend")
        self._one(job, "suspend")

    def resume(self, job: JobInfo) -> None:
        common.check_control(job, "resume")
        self._one(job, "resume")

    def _problem(self, job: JobInfo, results: Mapping[str, Any]) -> Drmaa2Error | None:
        """The error the library reported for ``job`` in a ``control`` call, or None."""
        problem = results.get(str(job.native_id))
        if not problem:
            return None
        if problem.get("kind") == "gone":
            return InvalidState(f"job {job.id} has already ended")
        return _error(str(problem.get("kind")), f"job {job.id}: {problem.get('error')}")

    def _terminate_many(self, jobs: Sequence[JobInfo], signal: int | None) -> list[JobInfo | Drmaa2Error | None]:
        """``terminate`` of many jobs (an array) in a few library calls instead of a few per job: the watchers'
        requests first, then one HOLD for the queued ones, one TERMINATE for those still held (or for all with
        SIGKILL), one RELEASE for any that started meanwhile, one RESUME for the suspended ones."""
        out: dict[str, JobInfo | Drmaa2Error] = {}
        ready: list[JobInfo] = []
        for job in jobs:
            try:
                if signal not in (None, 9, 15):
                    raise UnsupportedOperation(f"DRMAA cannot send signal {signal}; it can only terminate jobs")
                self._native(job)
                request = common.control_prefix(self.ctx, job.id) + ".kill"
                common.write_control(request, "9" if signal == 9 else "15")
                ready.append(job)
            except Drmaa2Error as e:
                out[job.id] = e
        kill = ready if signal == 9 else []
        queued = [j for j in ready if j.state in _QUEUED] if signal != 9 else []
        if queued:
            results, states = self._control("hold", queued)
            started = []
            for job in queued:
                problem = self._problem(job, results)
                if problem is not None:
                    out[job.id] = problem
                elif mapping.state_of(str(states.get(str(job.native_id)))) is JobState.QUEUED_HELD:
                    kill.append(job)
                else:
                    started.append(job)  # left to its watcher, which has the request already
            if started:
                with contextlib.suppress(Drmaa2Error):
                    self._control("release", started)
        suspended = [j for j in ready if j.state is JobState.SUSPENDED] if signal != 9 else []
        if suspended:
            with contextlib.suppress(Drmaa2Error):
                self._control("resume", suspended)  # their watchers are stopped with them
        if kill:
            results, _ = self._control("terminate", kill)
            for job in kill:
                problem = self._problem(job, results)
                if problem is not None:
                    out[job.id] = problem
        return [out.get(j.id, j) for j in jobs]

    def control(self, action: str, jobs: Sequence[JobInfo], *args: object,
                before: Callable[[Sequence[JobInfo]], None] | None = None) -> list[JobInfo | Drmaa2Error | None]:
        """terminate/release/suspend/resume of many jobs (an array) in a few library calls; the rest (and a
        hold, which is checked job by job) one by one."""
        if action not in ("terminate", "release", "suspend", "resume") or len(jobs) < 2:
            return super().control(action, jobs, *args, before=before)
        if before is not None:
            before(jobs)
        if action == "terminate":
            signal = args[0] if args else None
            return self._terminate_many(jobs, signal if isinstance(signal, int) else None)
        outcomes: list[JobInfo | Drmaa2Error | None] = []
        wanted = {"suspend": JobState.RUNNING, "resume": JobState.SUSPENDED}.get(action)
        ok: list[JobInfo] = []
        for job in jobs:
            try:
                self._native(job)
                if wanted is not None and job.state is not wanted:
                    raise InvalidState(f"job {job.id} is {job.state.value}: it cannot be {action}d")
                ok.append(job)
            except Drmaa2Error as e:
                outcomes.append(e)
        results, _ = self._control(action, ok) if ok else ({}, {})
        done: dict[str, JobInfo | Drmaa2Error] = {}
        for job in ok:
            done[job.id] = self._problem(job, results) or job
        errors = iter(outcomes)
        return [done[j.id] if j.id in done else next(errors) for j in jobs]

    def cleanup(self, job: JobInfo) -> None:
        prefix = common.control_prefix(self.ctx, job.id)
        for path in (prefix + ".kill", prefix + ".end", str(self.run_dir / f"{job.id}.json")):
            with contextlib.suppress(OSError):
                os.unlink(path)
        number, _, task = job.id.partition(".")
        if not task:
            with contextlib.suppress(OSError):
                os.unlink(self.script_path(number))

"""Jobs as containers on a Docker engine (engine API 1.41 or newer; see engine.py for how it is reached).

- A job's container is named ``drmaa2-INSTANCE-ID`` (known in ``bind``, before it exists) and labelled with
  the home instance, session, job id and template, so a job can be recognised from the engine alone.
- Nothing waits for the container. Whichever drmaa2 process first sees it ended (``refresh``) copies its
  logs into the job's output files, records the result in ``run/ID.docker.json`` and only then removes the
  container (see files.py), under the job's lock: the output survives a submitter that exited at
  once, and concurrent refreshers finalise a job once.
- ``init`` (tini) is the container's pid 1 unless ``--native init=false``: a signal reaches the command
  as it would outside a container (a bare pid 1 ignores SIGTERM), and death by signal N shows as 128+N.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal as signals
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from ...errors import Drmaa2Error, InvalidArgument, InvalidState, UnsupportedAttribute
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ...monitoring import MachineInfo, PlatformJob, QueueInfo, arch_name, os_name
from ...procfs import DetachedLaunch, submitter, submitter_alive
from .. import ending
from ..base import Backend, BackendContext, Launch, StdinSink
from ..contract import Refusal
from . import DATA_SHAPE, accounting
from .engine import STDIN_NEEDS_SOCKET, Engine, Missing, redact
from .files import JobFiles, create_output
from .finish import (
    ACTIVE,
    GRACE_SECONDS,
    Finisher,
    container_of,
    epoch,
)
from .http import Stream
from .spec import LABEL, ContainerSpec, container_name, create_config, labels_for, spec_from_template
from .streams import follow

#: How far back ``wait_any`` asks for events (see there).
EVENT_REPLAY_SECONDS = 5.0
#: How long ``wait_any`` lets the engine take to call a container that died stopped.
STOPPED_PATIENCE = 2.0
#: Past its timeout and grace by this much, a job is killed by ``refresh`` (its watchdog is gone).
WATCHDOG_SLACK_SECONDS = 10.0
#: Started as a lean helper (``procfs.helper_argv``): standard library only, ~4 MB while it waits.
WATCHDOG = Path(__file__).resolve().with_name("watchdog.py")


class DockerLaunch(Launch):
    """A validated container spec; the container is created and started in ``start``."""

    def __init__(self, backend: DockerBackend, engine: Engine, spec: ContainerSpec):
        self.backend = backend
        self.engine = engine
        self.spec = spec
        self.name = ""
        self.measured = accounting.usable(engine, backend.files.run_dir / "engine-cgroup-driver.json")

    def bind(self, job: JobInfo) -> None:
        # The job's own template, not the one given to ``prepare``: the core fills in the placeholders of its
        # paths (%j, %A, %a, %%, $DRMAA2_INDEX$) per job and per task.
        ctx, t = self.backend.ctx, job.template
        out = os.path.abspath(t.output_path) if t.output_path else ctx.default_output(job.id, "out")
        err = os.path.abspath(t.error_path) if t.error_path else ctx.default_output(job.id, "err")
        job.output_path, job.error_path = out, out if t.join_files else err
        self.name = container_name(ctx.instance, job.run_id)
        job.native_id = self.name
        job.machine = socket.gethostname() if self.engine.local else urlparse(self.engine.address).hostname
        job.backend_data.update(container=self.name, engine=redact(self.engine.address), submitter=submitter())
        if self.measured:
            job.backend_data["cgroup"] = accounting.parent_of(self.name)

    def start(self, job: JobInfo) -> JobInfo | None:
        for path in {job.output_path, job.error_path}:
            if path:
                create_output(path)
        labels = labels_for(job, self.backend.ctx.instance)
        files = self.backend.files
        # The record is committed: ``drmaa2 kill`` may already have found no container and recorded the
        # kill (see DockerBackend.terminate, which takes this lock). Then the job never starts.
        with files.lock(job.id):
            result = files.result(job.id)
            if result is not None:
                return ending.with_result(job, result)
            try:
                config = create_config(self.spec, job, labels, self.engine.log_config)
                if job.backend_data.get("cgroup"):
                    config["HostConfig"]["CgroupParent"] = job.backend_data["cgroup"]
                self.engine.create(self.name, config)
            except Missing:
                raise InvalidArgument(f"image {self.spec.image} is no longer present locally") from None
        # A container with its input open is attached to once, input and output (``docker run -i``'s way):
        # Podman takes the end of any attach to it for the end of the container's input, and the output of
        # a second attach made later would come from the engine's log, one frame per line.
        attached = self._attach() if self.backend.following else None
        try:
            self.engine.start(self.name)
        except Drmaa2Error as e:
            if attached is not None:
                attached.close()
            # Terminated between create and start (the engine says no such container, or one "marked for
            # removal"): terminate recorded why.
            result = files.result(job.id)
            if result is not None:
                return ending.with_result(job, result)
            if isinstance(e, Missing):
                raise InvalidState(f"container {self.name} was removed before it started") from None
            return ending.with_result(job, self.backend.finisher.start_failed(self.engine, job, e))
        if attached is not None:
            self.backend.attached[job.id] = attached
            if self.spec.stdin:
                self.backend.inputs[job.id] = attached.input()
        if job.template.timeout:
            self._watch(job)
        return None

    def _attach(self) -> Stream | None:
        """The container's output from its start, for this process to follow; None when the engine will not
        attach (the follower reads the log then)."""
        try:
            return self.engine.attach_output(self.name, stdin=self.spec.stdin)
        except Drmaa2Error:
            return None

    def _watch(self, job: JobInfo) -> None:
        """Start the job's timeout watchdog (a detached process that outlives this command)."""
        orders = {
            "address": self.engine.address,
            "version": self.engine.version,
            "container": self.name,
            "timeout": job.template.timeout,
            "grace": GRACE_SECONDS,
            "marker": str(self.backend.files.kill_path(job.id)),
        }
        log = str(self.backend.files.run_dir / "docker-watchdog.log")
        DetachedLaunch(script=WATCHDOG, env={}, stderr_path=log).send(json.dumps(orders).encode())


class DockerBackend(Backend):
    """Jobs as containers on the Docker engine at ``DOCKER_HOST`` (default: the local socket)."""

    name = "docker"
    unsupported_fields = ("input_path", "queue_name")
    category = "image"
    limits = frozenset({"memory_mb", "cpus"})
    honours = frozenset({"stage_out_files"})
    extensions = frozenset({"user", "pull", "native", "stdin"})
    attaches_stdin = True
    sees_home = False
    data_shape = DATA_SHAPE
    refuses: ClassVar[Mapping[str, Refusal]] = {
        "exit-status": Refusal("the engine reports a process killed by signal N as exit status 128+N, so a "
                               "container's own exit status above 128 is shown as that signal (as a shell reads "
                               "$?)"),
    }

    #: The engine client; the podman backend names its own (``podman.py``).
    engine_class: ClassVar[type[Engine]] = Engine

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.files = JobFiles(ctx.home)
        self.finisher = Finisher(self.files)
        self._engines: dict[str | None, Engine] = {}
        #: Set by ``will_follow``: the jobs started from then on are attached to before they start.
        self.following = False
        #: Their output streams, by job id, until ``follow_output`` takes them.
        self.attached: dict[str, Stream] = {}
        #: The input of those of them created with their input open, until ``attach_stdin`` takes it.
        self.inputs: dict[str, StdinSink] = {}

    def _engine(self, address: str | None = None) -> Engine:
        if address not in self._engines:
            configured = self.ctx.settings.get("host")
            self._engines[address] = self.engine_class(
                self.ctx.environ, address, str(configured) if configured else None
            )
        return self._engines[address]

    def _job_engine(self, job: JobInfo) -> Engine:
        return self._engine(job.backend_data.get("engine"))

    # --- submission -------------------------------------------------------------------------------
    def prepare(
        self, template: JobTemplate, *, array: ArraySpec | None = None, after: Dependencies | None = None
    ) -> Launch:
        self.check_template(template)
        for host, inside in template.stage_out_files.items():
            if not (os.path.isabs(host) and os.path.isabs(inside)):
                raise InvalidArgument(f"stage-out {host} <- {inside}: both paths must be absolute")
            if not os.path.isdir(os.path.dirname(host)):
                raise InvalidArgument(f"stage-out {host}: {os.path.dirname(host)} is not a directory")
        engine = self._engine()
        spec = spec_from_template(template, local_engine=engine.local)
        if template.timeout and engine.via_sdk:
            raise UnsupportedAttribute(
                "the docker backend enforces --timeout only for an engine at a unix socket or plain tcp://"
            )
        if spec.stdin and engine.via_sdk:
            raise UnsupportedAttribute(STDIN_NEEDS_SOCKET)
        # The one round trip before the record exists: it checks the engine, permissions and the image.
        try:
            engine.inspect_image(spec.image)
        except Missing:
            if not spec.pull:
                missing = f"image {spec.image} is not present locally; pull it or use --pull"
                raise InvalidArgument(missing) from None
            engine.pull(spec.image)
        self.files.ensure_dirs()
        self.ctx.output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return DockerLaunch(self, engine, spec)

    # --- observation ------------------------------------------------------------------------------
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        changed: list[JobInfo] = []
        by_engine: dict[str | None, list[JobInfo]] = {}
        for job in jobs:
            result = self.files.result(job.id)
            if result is not None:
                changed.append(ending.with_result(job, result))
            else:
                by_engine.setdefault(job.backend_data.get("engine"), []).append(job)
        for address, group in by_engine.items():
            engine = self._engine(address)
            listed = self._list(engine)
            changed.extend(self._observe(engine, job, listed.get(container_of(job))) for job in group)
        old = {job.id: job for job in jobs}
        return [new for new in changed if new != old[new.id]]

    def _list(self, engine: Engine) -> dict[str, dict[str, Any]]:
        """This home's containers by name, in one call (the list is not inspected per container)."""
        found = engine.containers(f"{LABEL}instance={self.ctx.instance}")
        return {c["Names"][0].lstrip("/"): c for c in found if c.get("Names")}

    def _observe(self, engine: Engine, job: JobInfo, summary: dict[str, Any] | None) -> JobInfo:
        if summary is None:
            return self.finisher.vanished(job)
        status = summary.get("State")
        if status == "created":
            if submitter_alive(job):
                return job.evolve(state=JobState.QUEUED)
            return self.finisher.finalise(engine, job)  # its submitter died between create and start
        if status not in ACTIVE:
            return self.finisher.finalise(engine, job)
        changes: dict[str, Any] = {"state": JobState.SUSPENDED if status == "paused" else JobState.RUNNING}
        if job.dispatch_time is None:
            try:
                info = engine.inspect(container_of(job))
                changes["dispatch_time"] = epoch(info["State"]["StartedAt"])
            except Missing:
                return self.finisher.vanished(job)
        new = job.evolve(**changes)
        self._enforce_timeout(engine, new)
        return new

    def _enforce_timeout(self, engine: Engine, job: JobInfo) -> None:
        """Kill a job well past its timeout that nothing stopped (its watchdog died with the machine)."""
        limit, started = job.template.timeout, job.dispatch_time
        late = WATCHDOG_SLACK_SECONDS + GRACE_SECONDS
        if not limit or started is None or time.time() < started + limit + late:
            return
        if self.files.kill_signal(job.id) is None:
            self.files.record_kill(job.id, "overdue")  # a timeout ended by SIGKILL alone, no SIGTERM first
        with contextlib.suppress(Drmaa2Error):
            engine.kill(container_of(job), signals.SIGKILL)

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        """Woken by the engine's 'die' (or 'destroy') event of one of the jobs' containers."""
        if not jobs or any(self.files.result(job.id) is not None for job in jobs):
            return
        by_engine: dict[str | None, list[JobInfo]] = {}
        for job in jobs:
            by_engine.setdefault(job.backend_data.get("engine"), []).append(job)
        address, group = next(iter(by_engine.items()))
        engine = self._engine(address)
        now = time.time()
        until = None if timeout is None else now + max(0.0, timeout)
        if len(by_engine) > 1:
            # Jobs on several engines (DOCKER_HOST changed between submissions): watch one, look again soon.
            until = min(until, now + 1.0) if until is not None else now + 1.0
        names = {container_of(job) for job in group}
        # From a few seconds back: the engine's container list (read below) may still say "running"
        # after the "die" event; a replayed event of these jobs only means that they did end.
        since = now - EVENT_REPLAY_SECONDS
        filters = {
            "type": ["container"],
            # Podman 4 filters on its own name of the event ("died", though it reports "die"); Docker
            # ignores a name it does not know.
            "event": ["die", "died", "destroy"],
            "label": [f"{LABEL}instance={self.ctx.instance}"],
        }
        with engine.events(since, until, filters) as events:
            # Subscribed first, then looked: an end between the caller's refresh and now is not missed.
            listed = self._list(engine)
            for job in group:
                status = (listed.get(container_of(job)) or {}).get("State")
                if status is None and job.dispatch_time is None and submitter_alive(job):
                    time.sleep(0.05)  # being created by its submitter: do not spin the caller
                    return
                if status not in (*ACTIVE, "created"):
                    return
                if status == "created" and not submitter_alive(job):
                    return
            for event in events:
                name = (event.get("Actor") or {}).get("Attributes", {}).get("name")
                if name in names:
                    # The engine's list says "running" for a while after the 'die' event (~0.2 s for Docker
                    # 20.10): its own wait returns when it no longer does, where asking again and again
                    # would spin the caller and load the engine that is finishing the container.
                    with contextlib.suppress(Drmaa2Error):
                        engine.wait_stopped(name, STOPPED_PATIENCE)
                    return

    # --- control ----------------------------------------------------------------------------------
    def _status(self, engine: Engine, job: JobInfo) -> str:
        """The container's status; raises InvalidState when the job has ended or has no container."""
        if self.files.result(job.id) is not None:
            raise InvalidState(f"job {job.id} has already ended")
        try:
            status: str = engine.inspect(container_of(job))["State"]["Status"]
        except Missing:
            raise InvalidState(f"job {job.id} has no container: it has ended or never started") from None
        if status in ("exited", "dead"):
            raise InvalidState(f"job {job.id} has already ended")
        return status

    def attach_stdin(self, job: JobInfo) -> StdinSink:
        """The container's standard input (it was created open, for this one attach). Raises InvalidState
        when it has ended, BackendUnavailable."""
        attached = self.inputs.pop(job.id, None)
        if attached is not None:
            return attached
        engine = self._job_engine(job)
        self._status(engine, job)
        return engine.attach_stdin(container_of(job))

    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """Kill the container with ``signal``, or stop it (SIGTERM, SIGKILL after GRACE_SECONDS). A job
        whose container has not started yet is recorded as failed and never starts (a created container is
        removed). Raises InvalidState."""
        engine = self._job_engine(job)
        # Under the job's lock, which ``start`` holds from its look for a result until the container exists:
        # a kill between the committed record and the container (a submitter or runner still at work, seen
        # from another command or thread) is recorded, and ``start`` then creates nothing.
        with self.files.lock(job.id):
            try:
                status = self._status(engine, job)
            except InvalidState:
                if not self._starting(engine, job):
                    raise
                status = "created"
            if status == "created":
                if self.files.result(job.id) is None:
                    self.files.write_result(
                        job.id,
                        {
                            "state": "failed",
                            "annotation": ending.KILLED_BEFORE_START,
                            "finish_time": time.time(),
                        },
                    )
                with contextlib.suppress(Drmaa2Error):
                    engine.remove(container_of(job))
                return
        # Before the signal: the finaliser may run the moment the container dies.
        self.files.record_kill(job.id, "stop" if signal is None else signal)
        try:
            if status == "paused":
                self._end_paused(engine, container_of(job), signal)
            elif signal is None:
                engine.stop(container_of(job), GRACE_SECONDS)
            else:
                engine.kill(container_of(job), signal)
        except InvalidState:  # Missing too: the container is gone
            self.files.record_kill(job.id, None)
            raise InvalidState(f"job {job.id} has already ended") from None

    def _end_paused(self, engine: Engine, name: str, signal: int | None) -> None:
        """Signal a paused (suspended) container, then unpause it so that it acts on the signal, as Slurm and
        Grid Engine send SIGCONT: its TERM trap runs and its own exit code is reported. Docker unpauses it
        itself; Podman leaves it paused with the signal pending and refuses to stop it ("container state
        improper"), so ``stop``'s SIGKILL after the grace period is done here."""
        engine.kill(name, signals.SIGTERM if signal is None else signal)
        with contextlib.suppress(InvalidState):  # Missing too: it ended at once
            if engine.inspect(name)["State"].get("Paused"):  # Docker's unpause of a running one is an error
                engine.unpause(name)
        if signal is not None:
            return
        deadline = time.monotonic() + GRACE_SECONDS
        with contextlib.suppress(Missing):  # gone: it ended (and its finaliser removed it)
            while time.monotonic() < deadline:
                if not engine.inspect(name)["State"].get("Running"):
                    return
                time.sleep(0.1)
        with contextlib.suppress(InvalidState):  # it ended at the last moment
            engine.kill(name, signals.SIGKILL)

    def _starting(self, engine: Engine, job: JobInfo) -> bool:
        """Whether ``job`` has no result and no container yet, and its submitter may still create it."""
        if self.files.result(job.id) is not None or job.dispatch_time is not None or not submitter_alive(job):
            return False
        try:
            engine.inspect(container_of(job))
        except Missing:
            return True
        return False

    def suspend(self, job: JobInfo) -> None:
        """Pause the container (cgroup freezer). Raises InvalidState unless it is running."""
        engine = self._job_engine(job)
        if self._status(engine, job) != "running":
            raise InvalidState(f"job {job.id} is not running")
        engine.pause(container_of(job))

    def resume(self, job: JobInfo) -> None:
        """Unpause the container. Raises InvalidState unless it is paused."""
        engine = self._job_engine(job)
        if self._status(engine, job) != "paused":
            raise InvalidState(f"job {job.id} is not suspended")
        engine.unpause(container_of(job))

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        """The running container's log on ``stream``; None once the job's files hold it."""
        if self.files.result(job.id) is not None:
            return None
        joined = job.output_path == job.error_path
        if stream == "err" and joined:
            return b""
        try:
            engine = self._job_engine(job)
            return b"".join(
                engine.logs(container_of(job), stdout=stream == "out", stderr=stream == "err" or joined)
            )
        except Missing:
            return None

    def will_follow(self) -> None:
        """Attach to the output of the containers started from now on, before they start (as ``docker run``
        does): the engine's attach carries every byte as the container writes it, in blocks as large as its
        writes, where its log comes one frame per line (a few MB/s)."""
        self.following = True

    def follow_output(self, job: JobInfo, streams: Sequence[str],
                      offsets: Mapping[str, int]) -> Iterator[tuple[str, bytes]] | None:
        """The running container's output as it grows: from the attach made before it started, else from its
        log (one request, which the engine ends once the container has stopped): polling the whole log again
        and again cost time in the square of its size. When both streams are followed, what comes is also kept
        for the finaliser (streams.py)."""
        attached = self.attached.pop(job.id, None)
        if job.state not in (JobState.RUNNING, JobState.SUSPENDED) or self.files.result(job.id) is not None:
            if attached is not None:
                attached.close()
            return None
        joined = job.output_path == job.error_path
        names = {1: "out", 2: "out" if joined else "err"}
        wanted = {n for n, name in names.items() if name in streams}
        if not wanted:
            if attached is not None:
                attached.close()
            return None
        return follow(self._job_engine(job), self.files, job, names, wanted, offsets, attached)

    def cleanup(self, job: JobInfo) -> None:
        """Remove the job's container if one is left (output not saved, or removal failed) and its files;
        the files even when the engine cannot be reached (BackendUnavailable is raised then)."""
        try:
            with contextlib.suppress(Missing):
                self._job_engine(job).remove(container_of(job))
            if job.backend_data.get("cgroup"):
                accounting.remove(job.backend_data["cgroup"])
        finally:
            self.files.remove(job.id)

    # --- monitoring -------------------------------------------------------------------------------
    def machines(self) -> list[MachineInfo]:
        """The engine's host, as the engine describes it (it reports no load or sockets)."""
        info = self._engine().info()
        memory = info.get("MemTotal")
        return [MachineInfo(
            name=str(info.get("Name") or urlparse(self._engine().address).hostname or "docker"),
            cores=info.get("NCPU"), phys_memory=memory // 1024 if isinstance(memory, int) else None,
            machine_os=os_name(str(info.get("OSType", ""))),
            machine_os_version=info.get("KernelVersion"),
            machine_arch=arch_name(str(info.get("Architecture", ""))),
        )]

    def queues(self) -> list[QueueInfo]:
        """None: the engine starts a container at once."""
        return []

    def categories(self) -> list[str]:
        """The engine's tagged images: what ``--image`` (the job category) can name without a pull."""
        tags = {str(t) for image in self._engine().images() for t in image.get("RepoTags") or []}
        return sorted(tags - {"<none>:<none>"})

    def platform_jobs(self) -> list[PlatformJob]:
        """Every container of the engine, under its name (the native id drmaa2 records)."""
        out = []
        for c in self._engine().all_containers():
            names = [str(n).lstrip("/") for n in c.get("Names") or []]
            state = str(c.get("State", ""))
            if state == "exited":
                state = "done" if "Exited (0)" in str(c.get("Status", "")) else "failed"
            out.append(PlatformJob(
                native_id=names[0] if names else str(c.get("Id", ""))[:12], name=c.get("Image"),
                state=_CONTAINER_STATES.get(state, state if state in ("done", "failed") else "undetermined"),
            ))
        return out


_CONTAINER_STATES = {"created": "queued", "running": "running", "paused": "suspended", "restarting": "running",
                     "removing": "running", "dead": "failed"}

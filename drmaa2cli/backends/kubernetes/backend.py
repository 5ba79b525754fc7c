"""Jobs as batch/v1 Jobs on a Kubernetes cluster (API 1.20 or newer), one pod each.

- A job's Job object is named ``drmaa2-INSTANCE-ID`` (known in ``bind``, before it exists) and labelled with
  the home instance, job id and session; its pod carries the same labels, so one list call per namespace
  finds every job of this home.
- Nothing waits for the pod. Whichever drmaa2 process first sees it ended (``refresh``) copies its log into
  the job's output file, records the result in ``run/ID.k8s.json`` and only then deletes the Job (and the pod,
  by propagation), under the job's lock: the output outlives the pod and concurrent refreshers finalise once.
- Each pod carries the finalizer ``drmaa2/result``: a pod deleted by anyone (a kill, the Job's deadline) stays
  in the API, with the exit status the kubelet reports, until the finaliser has kept it and lets it go.
- ``kill`` follows the pod's log, deletes the Job with propagation (Foreground: the pod gets SIGTERM, SIGKILL
  after its grace period of 5 s; ``--signal KILL``: grace 0) and keeps the log until the container ended, because
  the kubelet removes a deleted pod's container, and its log, the moment it dies. A job whose container has not
  started yet is deleted and never starts.
- A pod has one log: stdout and stderr are interleaved in it, so every job's error path is its output path.
"""

from __future__ import annotations

import contextlib
import os
import signal as signals
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ...errors import Drmaa2Error, ExitStatus, InvalidArgument, InvalidState, UnsupportedOperation
from ...files import write_atomically
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ...monitoring import MachineInfo, PlatformJob, QueueInfo, arch_name, kib, os_name
from ...procfs import submitter, submitter_alive
from .. import ending
from ..base import Backend, BackendContext, Launch
from ..contract import Refusal
from ..docker.files import JobFiles, create_output, fill_output
from . import DATA_SHAPE
from .api import Api, Missing, all_jobs, job_output, namespaces, nodes
from .config import Cluster, load
from .result import ended, observe, pull_failure, result_of, started
from .spec import CONTAINER, LABEL, JobSpec, manifest, object_name, spec_from_template

#: The longest single watch ``wait_any`` asks for (the server ends it then; the caller asks again).
WATCH_SECONDS = 300.0


class KubeFiles(JobFiles):
    """The docker backend's per-job files (result, kill marker, lock) under this backend's own names, plus a
    mark that ``kill`` kept the log (the finaliser then finds none to read)."""

    def _result_path(self, job_id: str) -> Path:
        return self.run_dir / f"{job_id}.k8s.json"

    def kill_path(self, job_id: str) -> Path:
        return self.run_dir / f"{job_id}.k8s-kill"

    def log_mark(self, job_id: str) -> Path:
        return self.run_dir / f"{job_id}.k8s-log"

    def remove(self, job_id: str) -> None:
        super().remove(job_id)
        with contextlib.suppress(FileNotFoundError):
            self.log_mark(job_id).unlink()


class KubernetesLaunch(Launch):
    """A validated Job spec; the Job is created in ``start``."""

    def __init__(self, backend: KubernetesBackend, api: Api, spec: JobSpec) -> None:
        self.backend, self.api, self.spec = backend, api, spec
        self.name = ""

    def bind(self, job: JobInfo) -> None:
        ctx = self.backend.ctx
        out = os.path.abspath(job.template.output_path) if job.template.output_path \
            else ctx.default_output(job.id, "out")
        # One log per pod: stderr is in it too.
        job.output_path = job.error_path = out
        self.name = object_name(ctx.instance, job.run_id)
        job.native_id = f"{self.spec.namespace}/{self.name}"
        job.backend_data.update(job=self.name, namespace=self.spec.namespace, server=self.api.cluster.server,
                                submitter=submitter())

    def start(self, job: JobInfo) -> JobInfo | None:
        if job.output_path:
            create_output(job.output_path)
        files = self.backend.files
        # ``kill`` may have found no Job yet and recorded the job killed (it takes this lock): it never starts.
        with files.lock(job.id):
            result = files.result(job.id)
            if result is not None:
                return ending.with_result(job, result)
            body = manifest(self.spec, job, self.name, self.backend.ctx.instance)
            self.api.create_job(self.spec.namespace, body)
        return None


class KubernetesBackend(Backend):
    """Jobs as batch/v1 Jobs in the cluster of the current kubeconfig context (or the pod's own cluster)."""

    name = "kubernetes"
    one_log = True
    unsupported_fields = ("input_path", "priority")
    category = "image"
    limits = frozenset({"memory_mb", "cpus"})
    extensions = frozenset({"pull", "native"})
    # A pod sees only what is mounted into it, not the drmaa2 home: a job script travels in its command line.
    sees_home = False
    data_shape = DATA_SHAPE
    refuses: ClassVar[Mapping[str, Refusal]] = {
        "exit-status": Refusal("Kubernetes reports a process killed by signal N as exit code 128+N, so a "
                               "container's own exit status above 128 is shown as that signal (as a shell reads "
                               "$?)"),
        "output-bytes": Refusal("a pod keeps one log: stdout and stderr come back interleaved line by line from "
                                "`logs`, byte for byte"),
        "output-files": Refusal("a pod keeps one log, so stdout and stderr cannot go to separate files; "
                                "`--output` (or `--join`) is honoured", ExitStatus.USAGE),
        "suspend": Refusal("Kubernetes cannot pause a pod (and 1.20 has no Job suspend)", ExitStatus.UNSUPPORTED),
        "kill-suspended": Refusal("no job is ever suspended (see suspend)", ExitStatus.UNSUPPORTED),
        "run-stdin": Refusal("a pod's standard input is reached only through an attach stream (SPDY or "
                             "WebSocket), which drmaa2's HTTP client does not speak: `run` refuses when it has "
                             "input waiting "
                             "(a pipe or a file; a terminal and /dev/null are fine)", ExitStatus.USAGE),
        "accounting": Refusal("the API keeps no CPU time or peak memory of an ended pod (the metrics API, where "
                              "installed, samples running ones only): both are null"),
        "slots": Refusal("`--queue` is the cluster's namespace, whose quotas the cluster keeps: a local queue is "
                         "refused", ExitStatus.USAGE),
        "priority": Refusal("a pod's priority is a PriorityClass the cluster's administrator defines, and there "
                            "are no local queues to order: `--priority` is refused", ExitStatus.USAGE),
        "image-missing": Refusal("the node finds a missing image when it pulls it: the job is submitted, then "
                                 "fails (`wait` 207) at the kubelet's first refusal, annotated \"cannot pull "
                                 "image IMAGE: REASON\""),
    }

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self.files = KubeFiles(ctx.home)
        self._api: Api | None = None

    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.cluster())
        return self._api

    def cluster(self) -> Cluster:
        return load(self.ctx.environ)

    def selector(self, job_id: str | None = None) -> str:
        found = f"{LABEL}instance={self.ctx.instance}"
        return found if job_id is None else f"{found},{LABEL}job={job_id}"

    # --- submission -------------------------------------------------------------------------------
    def prepare(
        self, template: JobTemplate, *, array: ArraySpec | None = None, after: Dependencies | None = None
    ) -> Launch:
        self.check_template(template)
        api = self.api()
        spec = spec_from_template(template, api.cluster.namespace)
        # The one round trip before the record exists: the server answers, the credentials work, and the
        # namespace exists (a user who may not read namespaces is let through: the create will tell).
        try:
            api.namespace(spec.namespace)
        except Missing:
            raise InvalidArgument(f"namespace {spec.namespace} does not exist on {api.cluster.server}") from None
        except Drmaa2Error as e:
            if "forbidden" not in str(e).lower():
                raise
        self.files.ensure_dirs()
        self.ctx.output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return KubernetesLaunch(self, api, spec)

    # --- observation ------------------------------------------------------------------------------
    def _pods(self, namespace: str) -> tuple[dict[str, dict[str, Any]], str]:
        """This home's pods in ``namespace`` by job id (the newest, should a job have several), and the list's
        resourceVersion."""
        items, version = self.api().pods(namespace, self.selector())
        by_job: dict[str, dict[str, Any]] = {}
        for pod in sorted(items, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
            by_job[pod["metadata"]["labels"].get(LABEL + "job", "")] = pod
        return by_job, version

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        changed: list[JobInfo] = []
        by_namespace: dict[str, list[JobInfo]] = {}
        for job in jobs:
            result = self.files.result(job.id)
            if result is not None:
                changed.append(ending.with_result(job, result))
            else:
                by_namespace.setdefault(namespace_of(job), []).append(job)
        for namespace, group in by_namespace.items():
            pods, _ = self._pods(namespace)
            need_jobs = [job for job in group if job.id not in pods]
            objects = {o["metadata"]["name"] for o in self.api().jobs(namespace, self.selector())} \
                if need_jobs else set()
            for job in group:
                pod = pods.get(job.id)
                if pod is not None:
                    over = ended(pod) or pull_failure(pod) is not None
                    changed.append(self.finalise(job, pod) if over else observe(job, pod))
                elif job_name(job) in objects or (job.dispatch_time is None and submitter_alive(job)):
                    changed.append(job.evolve(state=JobState.QUEUED))  # no pod yet (or no Job yet)
                else:
                    changed.append(self.finalise(job, None))
        old = {job.id: job for job in jobs}
        return [new for new in changed if new != old[new.id]]

    def finalise(self, job: JobInfo, pod: dict[str, Any] | None) -> JobInfo:
        """Keep the ended pod's log and result, then delete its Job; the final info. ``pod`` None: it has no
        pod and never will (deleted before it started, or removed outside drmaa2); a pod whose image cannot be
        pulled (``pull_failure``) never starts either: failed, annotated with the image and the reason."""
        api, namespace = self.api(), namespace_of(job)
        with self.files.lock(job.id):
            result = self.files.result(job.id)
            if result is None:
                sent = self.files.kill_signal(job.id)
                deadline = False
                if pod is not None and sent is None and job.template.timeout and \
                        pod["metadata"].get("deletionTimestamp"):
                    deadline = self._past_deadline(job)
                stopped_after = self._stopped_after(job.id)
                result = result_of(job, pod, sent, deadline, stopped_after)
                unpulled = pull_failure(pod) if pod is not None and sent is None and not ended(pod) else None
                if unpulled is not None:
                    result["annotation"] = unpulled
                kept = stopped_after is not None
                if pod is not None and started(pod) is not None and job.output_path and not kept:
                    problem = self._save_log(job, pod)
                    if problem and pod["metadata"].get("deletionTimestamp"):
                        # Deleted by someone else (the Job's deadline): its container, and the log, went at once.
                        problem = "output not saved (the log went with the deleted pod)"
                    if problem:
                        result["annotation"] = f"{result.get('annotation') or 'ended'}; {problem}"
                self.files.write_result(job.id, result)
            if pod is not None:
                with contextlib.suppress(Drmaa2Error):
                    api.drop_finalizers(namespace, pod["metadata"]["name"])
            with contextlib.suppress(Drmaa2Error):
                api.delete_job(namespace, job_name(job))
            self.files.record_kill(job.id, None)
            with contextlib.suppress(FileNotFoundError):
                self.files.log_mark(job.id).unlink()
            self.files.drop_lock(job.id)
        return ending.with_result(job, result)

    def _stopped_after(self, job_id: str) -> float | None:
        """Seconds from kill's delete to the end of the container's log, if ``kill`` followed it (and kept it)."""
        try:
            return float(self.files.log_mark(job_id).read_text() or "0")
        except (OSError, ValueError):
            return None

    def _past_deadline(self, job: JobInfo) -> bool:
        """Whether the Job's controller ended it at its deadline (the job's --timeout)."""
        try:
            conditions = self.api().job(namespace_of(job), job_name(job)).get("status", {}).get("conditions") or []
        except Missing:
            return False
        return any(c.get("type") == "Failed" and c.get("reason") == "DeadlineExceeded" for c in conditions)

    def _save_log(self, job: JobInfo, pod: dict[str, Any]) -> str | None:
        """Copy the pod's log into the job's output file; why not, if it could not be read. An unreachable
        server propagates (BackendUnavailable): a later refresh tries again."""
        assert job.output_path
        try:
            with self.api().log(namespace_of(job), pod["metadata"]["name"], CONTAINER) as chunks:
                fill_output(job.output_path, job_output(chunks))
        except OSError as e:
            return f"output not saved ({e.filename}: {e.strerror})"
        except InvalidArgument as e:  # Missing too: the log is gone
            return f"output not saved ({e})"
        return None

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        """Woken by a watch event of one of the jobs' pods that shows it ended (or gone)."""
        if not jobs or any(self.files.result(job.id) is not None for job in jobs):
            return
        by_namespace: dict[str, list[JobInfo]] = {}
        for job in jobs:
            by_namespace.setdefault(namespace_of(job), []).append(job)
        namespace, group = next(iter(by_namespace.items()))
        seconds = WATCH_SECONDS if timeout is None else max(0.0, min(timeout, WATCH_SECONDS))
        if len(by_namespace) > 1:
            seconds = min(seconds, 1.0)  # jobs in several namespaces: watch one, look again soon
        if seconds <= 0:
            return
        ids = {job.id for job in group}
        # Listed first, then watched from the list's version: an end between the two is not missed.
        pods, version = self._pods(namespace)
        for job in group:
            pod = pods.get(job.id)
            if pod is None and job.dispatch_time is not None:
                return  # it had a pod, and the pod is gone
            if pod is None:
                # No pod yet: the Job is being created, or its controller has not made the pod, or the Job was
                # deleted before; the watch sees the first two, a short one lets a refresh notice the last.
                seconds = min(seconds, 2.0)
            elif ended(pod) or pull_failure(pod) is not None:
                return
        begun = time.monotonic()
        try:
            for event in self.api().watch_pods(namespace, self.selector(), version, seconds):
                kind, pod = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    return  # the version is too old (410): the caller lists again
                if (pod.get("metadata") or {}).get("labels", {}).get(LABEL + "job") not in ids:
                    continue
                if kind == "DELETED" or ended(pod) or pull_failure(pod) is not None:
                    return
                if time.monotonic() - begun > seconds:
                    return
        except InvalidArgument:
            return  # the watch was refused (410 Gone as a status): the caller refreshes and asks again

    # --- control ----------------------------------------------------------------------------------
    def terminate(self, job: JobInfo, signal: int | None) -> None:
        """Stop the job's container (see the module docstring); returns once it ended and its log is kept.
        Only SIGTERM (with SIGKILL after the grace period) and SIGKILL can be sent. Raises InvalidState when it
        has ended, UnsupportedOperation."""
        if signal not in (None, signals.SIGTERM, signals.SIGKILL):
            raise UnsupportedOperation("the kubernetes backend can send only SIGTERM (then SIGKILL) and SIGKILL")
        api, namespace = self.api(), namespace_of(job)
        grace = 0 if signal == signals.SIGKILL else None
        with self.files.lock(job.id):
            if self.files.result(job.id) is not None:
                raise InvalidState(f"job {job.id} has already ended")
            pods, _ = self._pods(namespace)
            pod = pods.get(job.id)
            if pod is not None and ended(pod):
                raise InvalidState(f"job {job.id} has already ended")
            self.files.record_kill(job.id, "stop" if signal is None else signal)
            if pod is None or started(pod) is None:
                # Not started (no Job yet, no pod yet, or a pod still pending): it never will.
                self.files.write_result(job.id, {"state": "failed", "annotation": ending.KILLED_BEFORE_START,
                                                 "finish_time": time.time()})
                with contextlib.suppress(Missing):
                    api.delete_job(namespace, job_name(job), grace=0)
                self._let_pods_go(namespace, job)
                return
            if pod["metadata"].get("deletionTimestamp"):
                if grace == 0:  # a kill already under way: make it SIGKILL now
                    with contextlib.suppress(Missing):
                        api.delete_pod(namespace, pod["metadata"]["name"], grace=0)
                return
            # The log is followed from before the delete until the container ended: the kubelet removes a
            # deleted pod's container, with its log, as soon as it dies.
            problem = None
            try:
                with api.log(namespace, pod["metadata"]["name"], CONTAINER, follow=True) as chunks:
                    begun = time.monotonic()
                    with contextlib.suppress(Missing):
                        api.delete_job(namespace, job_name(job), propagation="Foreground", grace=grace)
                    if job.output_path:
                        fill_output(job.output_path, job_output(chunks))
                        took = f"{time.monotonic() - begun:.3f}".encode()
                        write_atomically(self.files.log_mark(job.id), took)
            except OSError as e:
                problem = e
            except InvalidArgument:
                # No log to follow (the container just ended): the finaliser reads it.
                with contextlib.suppress(Missing):
                    api.delete_job(namespace, job_name(job), propagation="Foreground", grace=grace)
            if problem is not None:
                raise InvalidArgument(f"job {job.id} was killed, but its output could not be kept: {problem}")

    def _let_pods_go(self, namespace: str, job: JobInfo) -> None:
        """Drop the finalizer of the job's pods (a job recorded as ended whose pods nobody will finalise)."""
        with contextlib.suppress(Drmaa2Error):
            items, _ = self.api().pods(namespace, self.selector(job.id))
            for pod in items:
                with contextlib.suppress(Missing):
                    self.api().drop_finalizers(namespace, pod["metadata"]["name"])

    def hold(self, job: JobInfo) -> None:
        """A job handed to Kubernetes is on its way to a node (1.20 has no Job suspend): nothing to hold, as for
        a job that started. Holds before that (``--hold``, dependencies, throttles) are the core's."""
        raise InvalidState(f"job {job.id} was handed to Kubernetes already and cannot be held")

    def release(self, job: JobInfo) -> None:
        raise InvalidState(f"job {job.id} is not held")

    def suspend(self, job: JobInfo) -> None:
        raise UnsupportedOperation("the kubernetes backend cannot suspend jobs (a pod cannot be paused)")

    def resume(self, job: JobInfo) -> None:
        raise UnsupportedOperation("the kubernetes backend cannot resume jobs (a pod cannot be paused)")

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        """The running pod's log (stdout and stderr interleaved) on "out"; None once the job's file holds it."""
        if self.files.result(job.id) is not None:
            return None
        if stream == "err":
            return b""
        pods, _ = self._pods(namespace_of(job))
        pod = pods.get(job.id)
        if pod is None or started(pod) is None:
            return None
        try:
            with self.api().log(namespace_of(job), pod["metadata"]["name"], CONTAINER) as chunks:
                return b"".join(job_output(chunks))
        except Missing:
            return None

    def cleanup(self, job: JobInfo) -> None:
        """Delete the job's Job if one is left, and its files (the files even when the server cannot be
        reached; BackendUnavailable is raised then)."""
        try:
            with contextlib.suppress(Missing):
                self.api().delete_job(namespace_of(job), job_name(job), grace=0)
            self._let_pods_go(namespace_of(job), job)
        finally:
            self.files.remove(job.id)

    # --- monitoring -------------------------------------------------------------------------------
    def machines(self) -> list[MachineInfo]:
        """The cluster's nodes, as their kubelets describe them (allocatable load and sockets are not
        reported)."""
        found = []
        for node in nodes(self.api()):
            capacity, info = node["capacity"], node["info"]
            cores = str(capacity.get("cpu", ""))
            found.append(MachineInfo(
                name=node["name"], available=node["ready"],
                cores=int(cores) if cores.isdigit() else None,
                phys_memory=kib(str(capacity.get("memory", ""))),
                machine_os=os_name(str(info.get("operatingSystem", ""))),
                machine_os_version=info.get("kernelVersion") or None,
                machine_arch=arch_name(str(info.get("architecture", ""))),
            ))
        return found

    def queues(self) -> list[QueueInfo]:
        """The cluster's namespaces (``--queue``); the kubeconfig context's one is the default. Any node may
        run a namespace's pods, so each lists every node."""
        api = self.api()
        hosts = [node["name"] for node in nodes(api)]
        return [QueueInfo(name=ns, default=ns == api.cluster.namespace, machines=hosts) for ns in namespaces(api)]

    def platform_jobs(self) -> list[PlatformJob]:
        """Every batch/v1 Job of the cluster, as ``NAMESPACE/NAME`` (the native id drmaa2 records), in the state
        of its newest pod (a Job without a pod yet: queued, unless it has ended)."""
        jobs, pods = all_jobs(self.api())
        newest: dict[str, dict[str, Any]] = {}
        for one in pods:
            meta = one["metadata"]
            key = f"{meta['namespace']}/{meta.get('labels', {}).get('job-name', '')}"
            if key not in newest or meta.get("creationTimestamp", "") > newest[key]["metadata"].get(
                    "creationTimestamp", ""):
                newest[key] = one
        out = []
        for job in jobs:
            meta, status = job["metadata"], job.get("status") or {}
            key = f"{meta['namespace']}/{meta['name']}"
            pod = newest.get(key)
            if status.get("succeeded"):
                state = "done"
            elif any(c.get("type") == "Failed" and c.get("status") == "True"
                     for c in status.get("conditions") or []):
                state = "failed"
            elif pod is not None:
                state = _POD_STATES.get(str(pod.get("status", {}).get("phase")), "undetermined")
            else:
                state = "queued"
            out.append(PlatformJob(
                native_id=key, name=(meta.get("annotations") or {}).get(LABEL + "name") or meta["name"],
                state=state, queue=meta["namespace"],
                machine=(pod or {}).get("spec", {}).get("nodeName"),
            ))
        return out


#: A pod's phase as a job state (a pod that ended decides only when its Job has not said yet).
_POD_STATES = {"Pending": "queued", "Running": "running", "Succeeded": "done", "Failed": "failed",
               "Unknown": "undetermined"}


def namespace_of(job: JobInfo) -> str:
    return str(job.backend_data.get("namespace") or job.template.queue_name or "default")


def job_name(job: JobInfo) -> str:
    return str(job.backend_data.get("job") or (job.native_id or "").rpartition("/")[2])

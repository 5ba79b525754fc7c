"""The remote backend: one job on a `drmaa2 serve` server (``submit --backend remote --contact URL``), whose
local record points at the server's job (``backend_data``: the server's URL and the job's id there). Every
later command on the local id asks that server: status, wait (its long-poll), kill and the other controls, logs.

The server runs the job on its own backend; holds, dependencies, arrays and local queues are this home's (the
core's runner starts each job on the server when its time comes). The token is ``DRMAA2_REMOTE_TOKEN``, else the
file ``token_file`` of ``[backends.remote]`` (0600); ``url`` there is the server when no ``--contact`` names one.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ...errors import DeniedByDrms, ExitStatus, InvalidArgument, InvalidState, JobNotFound
from ...models import ArraySpec, Dependencies, JobInfo, JobState, JobTemplate
from ..base import Backend, BackendContext, Launch, job_variables
from ..contract import Refusal
from . import DATA_SHAPE
from .client import Client
from .convert import epoch

ENV_TOKEN = "DRMAA2_REMOTE_TOKEN"
#: Template fields refused: this machine's files (the job runs on the server), and a job category (the server's
#: backend decides what one means; a server of containers is reached through the remote front instead).
_LOCAL = ("input_path", "output_path", "error_path", "stage_in_files", "stage_out_files", "job_category")
#: What this home does for a job of the server (see ``sendable``).
_HERE = ("extension", "submit_as_hold", "start_time", "priority", "retries", "retry_delay", "email", "mail_types",
         "notify_command", *_LOCAL)
#: The public keys of a job that a refresh copies into the local record.
_COPIED = ("annotation", "exit_status", "signal", "cpu_time", "max_rss", "machine")


def _token(ctx: BackendContext) -> str:
    token = ctx.environ.get(ENV_TOKEN)
    if token:
        return token
    path = ctx.settings.get("token_file")
    if not path:
        raise DeniedByDrms(f"no token for the drmaa2 server: set {ENV_TOKEN} or [backends.remote] token_file")
    file = Path(os.path.expanduser(str(path)))
    try:
        if stat.S_IMODE(file.stat().st_mode) & 0o077:
            raise InvalidArgument(f"token file {file} may be read by others (chmod 600 {file})")
        return file.read_text().strip()
    except OSError as e:
        raise InvalidArgument(f"cannot read token file {file}: {e.strerror}") from None


class RemoteBackend(Backend):
    """Jobs of a `drmaa2 serve` server. Settings (``[backends.remote]``): ``url``, ``token_file``."""

    name = "remote"
    unsupported_fields = _LOCAL
    extensions = frozenset({"contact"})
    sees_home = False
    data_shape = DATA_SHAPE
    refuses: ClassVar[Mapping[str, Refusal]] = {
        "output-files": Refusal("the job writes its output on the server: `logs` reads it", ExitStatus.USAGE),
        "run-stdin": Refusal("a job on a server gets no standard input from here: `run` refuses when it has "
                             "input waiting (a pipe or a file; a terminal and /dev/null are fine)",
                             ExitStatus.USAGE),
        "image-missing": Refusal("its jobs run on the server's backend, which names no image here: `--image` is "
                                 "refused (a server of containers: DRMAA2_REMOTE)", ExitStatus.USAGE),
        "job-script": Refusal("scripts run, but their output-file directives and their family's default output "
                              "files (slurm-%j.out) are refused (201), naming the line: the output stays on the "
                              "server, where `logs` reads it"),
        "environment": Refusal("-v, -V and --export NONE work; DRMAA2_JOB_ID is the job's id on the server, "
                               "DRMAA2_TASK_ID the task's index here"),
        "control-at-once": Refusal("the CLI's as everywhere; from Python the server is the one `[backends.remote] "
                                   "url` names (the API has no --contact)"),
        "machines": Refusal("the server's machines are its own: `DRMAA2_REMOTE=URL drmaa2 machines`",
                            ExitStatus.UNSUPPORTED),
        "queues": Refusal("the server's queues are its own: `DRMAA2_REMOTE=URL drmaa2 queues`",
                          ExitStatus.UNSUPPORTED),
    }

    def __init__(self, ctx: BackendContext) -> None:
        super().__init__(ctx)
        self._clients: dict[str, Client] = {}

    def client(self, url: str) -> Client:
        if url not in self._clients:
            # Briefly: a status pass over many jobs must not wait half a minute for each of a server that is down.
            self._clients[url] = Client(url, _token(self.ctx), retry_seconds=2.0)
        return self._clients[url]

    def _url(self, template: JobTemplate) -> str:
        url = template.extension.get("contact") or self.ctx.settings.get("url")
        if not isinstance(url, str) or not url:
            raise InvalidArgument("--backend remote needs the server: --contact URL (or [backends.remote] url)")
        if not url.startswith(("http://", "https://", "unix:")):
            raise InvalidArgument(f"--contact {url}: a drmaa2 server is http://HOST:PORT, https://… or unix:PATH")
        return url

    def prepare(self, template: JobTemplate, *, array: ArraySpec | None = None,
                after: Dependencies | None = None) -> Launch:
        self.check_template(template)
        url = self._url(template)
        # The server answers, takes the token and would take the job (its queue exists): else no record.
        self.client(url).check(sendable(template))
        return RemoteLaunch(self, url, template)

    def _job(self, job: JobInfo) -> tuple[Client, str]:
        return self.client(job.backend_data["url"]), job.backend_data["remote_id"]

    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]:
        changed = []
        for job in jobs:
            if "remote_id" not in job.backend_data:
                continue
            client, remote_id = self._job(job)
            try:
                (found,) = client.get(f"/v1/jobs/{remote_id}")["jobs"]
            except JobNotFound:
                continue  # an attempt that ended, its record there removed (a retry): the next one is recorded
            new = adopt(job, found)
            if new != job:
                changed.append(new)
        return changed

    def wait_any(self, jobs: Sequence[JobInfo], timeout: float | None) -> None:
        started = [j for j in jobs if "remote_id" in j.backend_data]
        if started:
            client, remote_id = self._job(started[0])
            turn = 30.0 if timeout is None else timeout
            if len(jobs) > 1:  # the server is asked about one of them: the others are looked at again soon
                turn = min(turn, 2.0)
            with contextlib.suppress(JobNotFound):
                client.wait(remote_id, turn)

    def _control(self, job: JobInfo, action: str, signal: int | None = None) -> None:
        if "remote_id" not in job.backend_data:
            raise InvalidState(f"job {job.id} has not reached its server yet")
        client, remote_id = self._job(job)
        client.control(remote_id, action, signal)

    def terminate(self, job: JobInfo, signal: int | None) -> None:
        self._control(job, "kill", signal)

    def suspend(self, job: JobInfo) -> None:
        self._control(job, "suspend")

    def resume(self, job: JobInfo) -> None:
        self._control(job, "resume")

    def hold(self, job: JobInfo) -> None:
        self._control(job, "hold")

    def release(self, job: JobInfo) -> None:
        self._control(job, "release")

    def output(self, job: JobInfo, stream: str) -> bytes | None:
        if "remote_id" not in job.backend_data:
            return b""
        client, remote_id = self._job(job)
        return client.output(remote_id, stream)[0]

    def cleanup(self, job: JobInfo) -> None:
        """Remove the server's record of the job (`rm` here, or a retry clearing the attempt that ended); one
        removed already is no error."""
        if "remote_id" in job.backend_data:
            client, remote_id = self._job(job)
            with contextlib.suppress(JobNotFound):
                client.remove(remote_id, force=True)


class RemoteLaunch(Launch):
    """Submits the job to the server once its record exists, under a key of its own: a start sent again
    (an answer lost, a runner restarted) is the same job there."""

    def __init__(self, backend: RemoteBackend, url: str, template: JobTemplate) -> None:
        # The template as the core prepared it for the platform: a local queue and a start time are this
        # home's (``deferred.wrapper.for_platform``); the record's keeps them.
        self.backend, self.url, self.template = backend, url, template

    def bind(self, job: JobInfo) -> None:
        job.backend_data.update(url=self.url)

    def start(self, job: JobInfo) -> JobInfo:
        template = sendable(replace(self.template, job_name=job.template.job_name,
                                    job_environment=job.template.job_environment))
        # The task's index here (a task of an array of this home is one job there); the server sets its own
        # DRMAA2_JOB_ID and DRMAA2_SESSION over these.
        template["job_environment"] = {**job.template.job_environment, **job_variables(job)}
        key = f"{self.backend.ctx.instance}-{job.run_id}"
        answer = self.backend.client(self.url).submit({"template": template, "session": job.session}, key=key)
        (found,) = answer["jobs"]
        started = job.evolve(backend_data={**job.backend_data, "remote_id": found["id"]})
        return adopt(started, found)


def sendable(template: JobTemplate) -> dict[str, Any]:
    """What the server gets of ``template``: not the server's address, nor what only this machine has, nor
    what this home does for the job itself: holds, start times and priorities (the core's runner starts the job
    on the server when its time comes), retries (this home's retry runner) and mail (its watcher)."""
    data = {k: v for k, v in template.to_dict().items() if k not in _HERE}
    extension = {k: v for k, v in template.extension.items() if k != "contact"}
    if extension:
        data["extension"] = extension
    return data


def adopt(job: JobInfo, found: Mapping[str, Any]) -> JobInfo:
    """``job`` with what the server says of its job (``found``, the public schema)."""
    changes: dict[str, Any] = {k: found.get(k) for k in _COPIED}
    changes.update(state=JobState(found["state"]), native_id=f"{found['id']}@{job.backend_data['url']}",
                   dispatch_time=epoch(found.get("dispatch_time")), finish_time=epoch(found.get("finish_time")))
    return job.evolve(**changes)

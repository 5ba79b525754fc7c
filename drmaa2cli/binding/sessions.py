"""The binding's sessions and jobs over drmaa2's ``Service``: JobSession, Job, JobArray, MonitoringSession.

Every public method raises the binding's exceptions only (``exceptions.translated``). A session is a drmaa2 job
session in the drmaa2 home ($DRMAA2_HOME), so `drmaa2 status -s NAME` shows the binding's jobs and the other way
round; its contact (the backend) is kept in the store, so ``open_job_session`` gets it back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from drmaa2cli import config
from drmaa2cli.core.validate import shown
from drmaa2cli.errors import InvalidArgument, JobNotFound, UnsupportedOperation, WaitTimeout
from drmaa2cli.models import ArraySpec, JobInfo, JobState
from drmaa2cli.service import Service

from . import convert, structs
from .exceptions import InvalidSessionException, translated

#: States a job has started in (or that mean it will never start: waiting longer would be for nothing).
STARTED = frozenset({JobState.RUNNING, JobState.SUSPENDED, JobState.DONE, JobState.FAILED})


def service_for(name: str, contact: str | None) -> tuple[Service, str]:
    """The Service of session ``name`` reached through ``contact``, and the backend that contact selects."""
    backend, environ = convert.backend_of(contact, os.environ)
    settings = config.resolve({"session": name, "backend": backend}, environ or None)
    server = convert.server_of(contact)
    if server is not None:  # the remote backend's server for this session (over the config's url)
        settings.backends = {**settings.backends, "remote": {**settings.backend_settings("remote"), "url": server}}
    return Service(settings, environ or None), settings.backend


class Job:
    """One job (or one task of an array) of a session."""

    def __init__(self, session: JobSession, job_id: str, template: structs.JobTemplate | None = None) -> None:
        self._session = session
        self.job_id = job_id
        self.session_name = session.session_name
        self._template = template

    def __repr__(self) -> str:
        return f"Job({self.job_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.job_id == self.job_id

    def __hash__(self) -> int:
        return hash(self.job_id)

    @property
    def job_template(self) -> structs.JobTemplate:
        if self._template is None:
            self._template = convert.template_out(self._info().template)
        return self._template

    def _info(self) -> JobInfo:
        return self._session.service.jobs([self.job_id])[0]

    @translated
    def get_state(self) -> tuple[structs.JobState, str | None]:
        """The job's state and its sub-state (None: drmaa2 keeps no finer state)."""
        return convert.state_out(self._info().state), None

    @translated
    def get_info(self) -> structs.JobInfo:
        return convert.info_out(self._info())

    @translated
    def suspend(self) -> None:
        self._session.service.suspend([self.job_id])

    @translated
    def resume(self) -> None:
        self._session.service.resume([self.job_id])

    @translated
    def hold(self) -> None:
        self._session.service.hold([self.job_id])

    @translated
    def release(self) -> None:
        self._session.service.release([self.job_id])

    @translated
    def terminate(self) -> None:
        self._session.service.kill([self.job_id])

    @translated
    def reap(self) -> None:
        """Forget a finished job (InvalidStateException while it is active); later use is an invalid argument."""
        self._session.service.reap([self.job_id])

    @translated
    def wait_started(self, timeout: float | None = structs.INFINITE_TIME) -> None:
        wait_any_started(self._session.service, [self.job_id], timeout)

    @translated
    def wait_terminated(self, timeout: float | None = structs.INFINITE_TIME) -> None:
        self._session.service.wait([self.job_id], timeout=convert.timeout_in(timeout))


class JobArray:
    """The tasks of one ``run_bulk_jobs``; controls apply to every task (those in another state are skipped)."""

    def __init__(self, session: JobSession, array_id: str, jobs: list[Job],
                 template: structs.JobTemplate | None = None) -> None:
        self._session = session
        self.job_array_id = array_id
        self.jobs = jobs
        self.session_name = session.session_name
        self.job_template = template if template is not None else (jobs[0].job_template if jobs else None)

    def __repr__(self) -> str:
        return f"JobArray({self.job_array_id!r}, {len(self.jobs)} jobs)"

    @translated
    def suspend(self) -> None:
        self._session.service.suspend([self.job_array_id])

    @translated
    def resume(self) -> None:
        self._session.service.resume([self.job_array_id])

    @translated
    def hold(self) -> None:
        self._session.service.hold([self.job_array_id])

    @translated
    def release(self) -> None:
        self._session.service.release([self.job_array_id])

    @translated
    def terminate(self) -> None:
        self._session.service.kill([self.job_array_id])

    @translated
    def reap(self) -> None:
        self._session.service.reap([self.job_array_id])


class JobSession:
    """A named drmaa2 job session on one backend (its ``contact``)."""

    def __init__(self, session_name: str, contact: str | None) -> None:
        if not isinstance(session_name, str) or not isinstance(contact, str | None):
            raise InvalidArgument(f"a session name and a contact are strings, not {session_name!r}, {contact!r}")
        self.session_name = session_name
        self.contact = contact
        self.service, self.backend = service_for(session_name, contact)
        self._closed = False

    def __repr__(self) -> str:
        return f"JobSession({self.session_name!r}, contact={self.contact!r})"

    def _open(self) -> Service:
        if self._closed:
            raise InvalidSessionException(f"session {self.session_name} is closed")
        return self.service

    @property
    @translated
    def job_categories(self) -> list[str]:
        """What ``JobTemplate.job_category`` can name here: the engine's images (docker), the space's apps (cf);
        [] where the backend has no categories."""
        return self._open().categories(self.backend)

    @translated
    def run_job(self, job_template: structs.JobTemplate) -> Job:
        template = convert.template_in(job_template, self.backend)
        info = self._open().submit(template, session=self.session_name, backend=self.backend)
        return Job(self, info.id, job_template)

    @translated
    def run_bulk_jobs(self, job_template: structs.JobTemplate, begin_index: int, end_index: int, step: int,
                      max_parallel: int | None = None) -> JobArray:
        numbers = (begin_index, end_index, step, 1 if max_parallel is None else max_parallel)
        if (not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers) or begin_index < 1
                or end_index < begin_index or step < 1 or (max_parallel is not None and max_parallel < 1)):
            raise InvalidArgument(f"invalid bulk job range {begin_index!r}-{end_index!r}:{step!r} "
                                  f"(max_parallel {max_parallel!r})")
        template = convert.template_in(job_template, self.backend)
        tasks = self._open().submit_jobs(template, session=self.session_name, backend=self.backend,
                                         array=ArraySpec(begin_index, end_index, step, max_parallel))
        array_id = tasks[0].id.partition(".")[0]
        return JobArray(self, array_id, [Job(self, t.id, job_template) for t in tasks], job_template)

    @translated
    def get_jobs(self, filter: structs.JobInfo | None = None) -> list[Job]:
        jobs, _ = self._open().list_jobs(session=self.session_name, limit=None)
        return [Job(self, j.id) for j in jobs if convert.matches(convert.info_out(j), filter)]

    @translated
    def get_job_array(self, job_array_id: str) -> JobArray:
        if "." in str(job_array_id):
            raise InvalidArgument(f"{job_array_id} is a task id, not an array id")
        tasks = [t for t in self._open().jobs([str(job_array_id)]) if "." in t.id]
        if not tasks or tasks[0].session != self.session_name:
            raise JobNotFound(f"no job array {job_array_id} in session {self.session_name}")
        return JobArray(self, str(job_array_id), [Job(self, t.id) for t in tasks])

    @translated
    def wait_any_started(self, jobs: Sequence[Job], timeout: float | None = structs.INFINITE_TIME) -> Job:
        found = wait_any_started(self._open(), job_ids(jobs), timeout)
        return next(j for j in jobs if j.job_id == found)

    @translated
    def wait_any_terminated(self, jobs: Sequence[Job], timeout: float | None = structs.INFINITE_TIME) -> Job:
        if not jobs:
            raise InvalidArgument("no jobs to wait for")
        infos = self._open().wait(job_ids(jobs), timeout=convert.timeout_in(timeout), any_job=True)
        ended = next(i.id for i in infos if i.state.final)
        return next(j for j in jobs if j.job_id == ended)

    def close(self) -> None:
        """Disengage: later calls on this session object raise InvalidSessionException (its jobs go on)."""
        self._closed = True


def job_ids(jobs: object) -> list[str]:
    """The ids of a sequence of jobs; InvalidArgument for anything else."""
    if not isinstance(jobs, list | tuple) or not all(isinstance(j, Job) for j in jobs):
        raise InvalidArgument(f"a list of jobs is needed, not {shown(jobs)}")
    return [j.job_id for j in jobs]


def wait_any_started(service: Service, ids: Sequence[str], timeout: float | None) -> str:
    """The id of the first of ``ids`` found started (or ended: it will not start any more). No platform
    reports a start as an event, so this polls, every 50 ms at first and at most every second."""
    if not ids:
        raise InvalidArgument("no jobs to wait for")
    limit = convert.timeout_in(timeout)
    deadline = None if limit is None else time.monotonic() + limit
    pause = 0.05
    while True:
        for job in service.jobs(ids):
            if job.state in STARTED:
                return job.id
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out: no job of {', '.join(ids[:5])} has started")
        time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
        pause = min(1.0, pause * 1.5)


class PlatformJob:
    """A job the platform shows that drmaa2 did not submit: it can be looked at, not controlled."""

    def __init__(self, info: structs.JobInfo) -> None:
        self._info = info
        self.job_id = info.job_id
        self.session_name: str | None = None
        self.job_template: structs.JobTemplate | None = None

    def __repr__(self) -> str:
        return f"PlatformJob({self.job_id!r})"

    def get_state(self) -> tuple[structs.JobState, str | None]:
        assert self._info.job_state is not None
        return self._info.job_state, None

    def get_info(self) -> structs.JobInfo:
        return self._info

    def _refuse(self, *_: object) -> None:
        raise UnsupportedOperation(f"job {self.job_id} was not submitted by drmaa2: control it with the "
                                   "platform's own tools")

    suspend = resume = hold = release = terminate = reap = translated(_refuse)
    wait_started = wait_terminated = translated(_refuse)


class MonitoringSession:
    """The platform of one backend (``contact``, as for job sessions) as it is now."""

    def __init__(self, contact: str | None) -> None:
        self.contact = contact
        self.service, self.backend = service_for(config.DEFAULTS["session"], contact)
        self._closed = False

    def _open(self) -> Service:
        if self._closed:
            raise InvalidSessionException("the monitoring session is closed")
        return self.service

    @translated
    def get_all_jobs(self, filter: structs.JobInfo | None = None) -> list[Job | PlatformJob]:
        """Every job the platform shows this user: drmaa2's as ``Job`` (of their session), the others as
        ``PlatformJob``; where the platform cannot list jobs (process, cf), drmaa2's own of this backend."""
        service = self._open()
        out: list[Job | PlatformJob] = []
        sessions: dict[str, JobSession] = {}
        listed = service.all_jobs(self.backend)
        ours = {j.id: j for j in service.jobs([f.drmaa2_id for f in listed if f.drmaa2_id is not None])}
        for found in listed:
            if found.drmaa2_id is not None and found.drmaa2_id in ours:
                rec = ours[found.drmaa2_id]
                if rec.session not in sessions:
                    sessions[rec.session] = JobSession(rec.session, self.contact)
                info = convert.info_out(rec)
                job: Job | PlatformJob = Job(sessions[rec.session], rec.id)
            else:
                info = convert.platform_info_out(found, self.backend)
                job = PlatformJob(info)
            if convert.matches(info, filter):
                out.append(job)
        return out

    @translated
    def get_all_queues(self, names: Sequence[str] | None = None) -> list[structs.QueueInfo]:
        return [convert.queue_out(q) for q in self._open().queues(self.backend, names or ())]

    @translated
    def get_all_machines(self, names: Sequence[str] | None = None) -> list[structs.MachineInfo]:
        return [convert.machine_out(m) for m in self._open().machines(self.backend, names or ())]

    @translated
    def get_all_reservations(self) -> list[structs.ReservationInfo]:
        raise UnsupportedOperation("drmaa2 has no advance reservations")

    def close(self) -> None:
        self._closed = True

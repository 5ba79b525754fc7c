"""Starting a job a runner held back, as the runner process does it (``runner.py``, ``queues.py``), and what
that process needs of the core that drives it (``Core``)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from .. import mark
from ..backends.base import Backend
from ..errors import Drmaa2Error
from ..models import JobInfo, JobState
from ..store import Store
from .retries import truncate_outputs
from .wrapper import StartLater


class Core(Protocol):
    """What the runner process uses of the core that drives it (``drmaa2cli.service.Service``, above this family:
    the runner is handed one by the ``drmaa2 _runner`` command)."""

    @property
    def store(self) -> Store: ...

    def backend(self, name: str) -> Backend: ...
    def resolve_ids(self, ids: Iterable[str]) -> list[JobInfo]: ...
    def refresh(self, jobs: Sequence[JobInfo]) -> list[JobInfo]: ...
    def wait(self, ids: Sequence[str], timeout: float | None = None) -> list[JobInfo]: ...
    def persist(self, jobs: Iterable[JobInfo]) -> None: ...
    def fail(self, jobs: Iterable[JobInfo], reason: str) -> None: ...

    @property
    def settings(self) -> Any: ...


def read_number() -> int | None:
    data = sys.stdin.buffer.read().strip()
    return int(data) if data.isdigit() else None


def start_one(svc: Core, job: JobInfo) -> None:
    """Start one deferred job unless it was killed, held or altered meanwhile (checked under the store lock)."""
    be = svc.backend(job.backend)
    try:
        # The runner has done the waiting: the job starts now, whatever the template asked for.
        if isinstance(be, StartLater):
            launch = be.launch_now(job.template)
        else:
            launch = be.prepare(replace(job.template, submit_as_hold=False))
    except Drmaa2Error as e:
        svc.fail([job], f"could not start: {e}")
        return
    data = mark.without_mark(job)
    noted = mark.waiting_note(mark.of(job), 0.0) is not None or bool(job.attempts)
    # On its platform the job is queued (or running) like any other; "requeued" was drmaa2's holding it back.
    annotation = f"attempt {job.attempt}" if job.attempts else (None if noted else job.annotation)
    # Not held on its platform either: a backend that submits what the record says (a scheduler's script)
    # would otherwise hold a job its runner released.
    bound = job.evolve(backend_data=data, annotation=annotation, state=JobState.QUEUED,
                       template=replace(job.template, submit_as_hold=False))
    launch.bind(bound)
    if mark.RETRIER in data:  # a backend's bind may have set its data afresh
        bound.backend_data[mark.RETRIER] = data[mark.RETRIER]
    with svc.store.transaction() as txn:
        current = txn.find(job.id)
        if current is None or current.state not in mark.STARTABLE or not mark.waiting(current):
            launch.abort()
            return
        if (current.template != job.template or mark.of(current) != mark.of(job)
                or current.attempt != job.attempt):
            launch.abort()  # altered (``drmaa2 alter``) since read: started with the new record, next round
            return
        txn.put(bound)
        if bound.annotation is None and noted:
            txn.clear(job.id, "annotation")  # "waiting for a slot" is over
    if job.attempts:
        truncate_outputs(bound)
    try:
        updated = launch.start(bound)
    except Drmaa2Error as e:
        svc.fail([bound], f"could not start: {e}")
        return
    if updated is not None:
        svc.persist([updated])

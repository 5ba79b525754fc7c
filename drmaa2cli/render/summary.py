"""The JSON document of a list of jobs, with a summary of each job array in it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..models import JobInfo, JobState


@dataclass
class ArraySummary:
    """Counts per state of one job array, its failed task indices and the code `wait` gives for it."""

    id: str
    tasks: int
    counts: dict[str, int]
    failed: list[int]
    exit_code: int | None

    def to_public(self) -> dict[str, Any]:
        return {"id": self.id, "tasks": self.tasks, "counts": self.counts, "failed_tasks": self.failed,
                "exit_code": self.exit_code}

    def line(self) -> str:
        counts = ", ".join(f"{n} {state}" for state, n in self.counts.items())
        text = f"array {self.id}: {self.tasks} tasks: {counts}"
        if self.failed:
            shown = ", ".join(map(str, self.failed[:20])) + (" …" if len(self.failed) > 20 else "")
            text += f"; failed tasks: {shown}"
        return text


def array_summaries(jobs: Iterable[JobInfo]) -> list[ArraySummary]:
    groups: dict[str, list[JobInfo]] = {}
    for job in jobs:
        if "." in job.id:
            groups.setdefault(job.id.split(".", 1)[0], []).append(job)
    summaries = []
    for number, tasks in groups.items():
        counts: dict[str, int] = {}
        for t in tasks:
            counts[t.state.value] = counts.get(t.state.value, 0) + 1
        failed = sorted(int(t.id.split(".", 1)[1]) for t in tasks if t.state is JobState.FAILED)
        final = all(t.state.final for t in tasks)
        codes = [t.exit_code() for t in tasks]
        code = None if not final else 0 if not failed else max(207 if c is None else c for c in codes)
        summaries.append(ArraySummary(number, len(tasks), counts, failed, code))
    return summaries


def jobs_document(jobs: Iterable[JobInfo], arrays: list[ArraySummary] | None = None) -> dict[str, Any]:
    """``arrays``: the summaries of the arrays whose tasks are among ``jobs`` when not all of them are."""
    jobs = list(jobs)
    doc: dict[str, Any] = {"jobs": [j.to_public() for j in jobs]}
    arrays = array_summaries(jobs) if arrays is None else arrays
    if arrays:
        doc["arrays"] = [a.to_public() for a in arrays]
    return doc



def ended_document(jobs: Iterable[JobInfo], exit_code: int, exit_code_from: str) -> dict[str, Any]:
    """``jobs_document`` of what ``wait``, ``submit --wait`` and ``run`` waited for, with the code the command
    exits with and whose code it is: ``"job"`` (a job's own exit status or 128+signal; 0 when all are done) or
    ``"drmaa2"`` (124: ``--timeout`` expired; 207: a job ended without an exit status)."""
    doc = jobs_document(jobs)
    doc["exit_code"] = exit_code
    doc["exit_code_from"] = exit_code_from
    return doc

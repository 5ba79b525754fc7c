"""Job tables and a job's detail view, and the tables of the platform (machines, queues, jobs)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models import JobInfo, JobState, rfc3339
from .output import STATE_STYLE, Output, printable
from .summary import ArraySummary, array_summaries

if TYPE_CHECKING:
    from ..monitoring import MachineInfo, PlatformJob, QueueInfo


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    fmt = "%H:%M:%S" if time.time() - epoch < 86400 else "%Y-%m-%d %H:%M"
    return time.strftime(fmt, time.localtime(epoch))


def _exit(job: JobInfo) -> str:
    if job.signal is not None:
        return f"sig{job.signal}"
    return "-" if job.exit_status is None else str(job.exit_status)


def command_line(argv: Sequence[str]) -> str:
    """A job's command as a shell would take it back (quoted where needed), on one printable line."""
    import shlex  # ~1 ms: only for output that shows commands

    return printable(shlex.join(argv))


def _state(job: JobInfo) -> str:
    """The state, and for a job that has not started yet, the jobs it waits for."""
    if job.after and job.state in (JobState.QUEUED, JobState.QUEUED_HELD):
        word = "after-any" if job.after_mode == "any" else "after"
        return f"{job.state.value} ({word} {','.join(map(str, job.after))})"
    if job.attempts:
        return f"{job.state.value} (attempt {job.attempt})"
    return job.state.value


def _attempt(job: JobInfo) -> str | None:
    """Which attempt the record shows, of how many --retries allow (a requeue adds one)."""
    if not job.attempts and not job.template.retries:
        return None
    allowed = f" of {job.template.retries + 1}" if job.template.retries else ""
    return f"{job.attempt}{allowed}"


def _earlier(job: JobInfo) -> str | None:
    """The attempts that ended before this one: how each ended, and when."""
    parts = []
    for n, a in enumerate(job.attempts or (), 1):
        how = (f"signal {a['signal']}" if a.get("signal") is not None
               else f"exit {a.get('exit_status', '-')}")
        parts.append(f"{n}: {a.get('state', '?')}, {how}, ended {rfc3339(a.get('finish_time')) or '-'}")
    return "; ".join(parts) or None


def _after(job: JobInfo) -> str | None:
    if not job.after:
        return None
    wanted = "ended, whatever the result" if job.after_mode == "any" else "done"
    return f"{', '.join(map(str, job.after))} ({wanted})"


#: The columns of the jobs table that a terminal too narrow for them cuts (with …), widest first.
CUT = ("COMMAND", "NAME", "SESSION")


def job_rows(jobs: Sequence[JobInfo], show_session: bool) -> tuple[list[str], list[list[str]]]:
    header = ["ID", "NAME", *(["SESSION"] if show_session else []), "BACKEND", "STATE", "EXIT", "SUBMITTED",
              "WALLCLOCK", "COMMAND"]
    rows = [
        [
            j.id,
            j.template.job_name or "-",
            *([j.session] if show_session else []),
            j.backend,
            _state(j),
            _exit(j),
            _when(j.submission_time),
            _duration(j.wallclock_time),
            command_line(j.template.argv),
        ]
        for j in jobs
    ]
    return header, rows


def table(
    output: Output, header: list[str], rows: list[list[str]], styles: dict[int, str] | None = None
) -> None:
    """Rows under a header. On a terminal the table fits its width: the cells of the columns in ``CUT`` are
    cut with … (the others never are); in a pipe every cell is whole. Wide (East Asian) characters count as
    the two columns a terminal gives them, so the columns stay aligned."""
    rows = [[printable(cell) for cell in row] for row in rows]
    if output.rich:
        from rich.console import Console

        console = Console(file=output.out, no_color=not output.color, highlight=False)
        console.print(rich_table(header, rows, styles))
        return
    widths = [max(cell_width(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = ["  ".join(cell + " " * (w - cell_width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    output.out.write("\n".join(lines) + "\n")


def rich_table(header: list[str], rows: list[list[str]], styles: dict[int, str] | None) -> Any:
    from rich.table import Table
    from rich.text import Text

    t = Table(box=None, pad_edge=False, header_style="bold")
    cut = [col in CUT for col in header]
    for col, may_cut in zip(header, cut, strict=True):
        # Only these columns give up width (Rich narrows wrappable columns first); their cells stay one line.
        t.add_column(col, no_wrap=not may_cut, overflow="ellipsis", min_width=len(col) if may_cut else None)
    for i, row in enumerate(rows):
        cells = [Text(cell, no_wrap=True, overflow="ellipsis") if c else cell
                 for cell, c in zip(row, cut, strict=True)]
        t.add_row(*cells, style=(styles or {}).get(i))
    return t


def cell_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: wide and full-width characters two, combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def jobs_table(output: Output, jobs: Sequence[JobInfo], show_session: bool,
               arrays: list[ArraySummary] | None = None) -> None:
    header, rows = job_rows(jobs, show_session)
    styles = {i: STATE_STYLE.get(j.state, "") for i, j in enumerate(jobs)} if output.color else None
    table(output, header, rows, styles)
    for summary in array_summaries(jobs) if arrays is None else arrays:
        output.line(summary.line())


def _memory(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024 / 1024:.1f}G"


def _n(value: object) -> str:
    return "-" if value is None else str(value)


def machines_table(output: Output, machines: Sequence[MachineInfo]) -> None:
    header = ["MACHINE", "UP", "SOCKETS", "CORES", "THREADS/CORE", "LOAD", "MEMORY", "OS", "ARCH"]
    rows = [[m.name, "yes" if m.available else "no", _n(m.sockets), _n(m.cores), _n(m.threads_per_core),
             _n(m.load), _memory(m.phys_memory),
             f"{m.machine_os} {m.machine_os_version or ''}".strip(), m.machine_arch] for m in machines]
    table(output, header, rows)


def queues_table(output: Output, queues: Sequence[QueueInfo]) -> None:
    header = ["QUEUE", "UP", "DEFAULT", "SLOTS", "USED", "MACHINES"]
    rows = [[q.name, "yes" if q.available else "no", "yes" if q.default else "", _n(q.slots), _n(q.used),
             ",".join(q.machines)] for q in queues]
    table(output, header, rows)


def platform_jobs_table(output: Output, jobs: Sequence[PlatformJob]) -> None:
    header = ["NATIVE ID", "DRMAA2 ID", "NAME", "STATE", "OWNER", "QUEUE", "MACHINE"]
    rows = [[j.native_id, j.drmaa2_id or "-", j.name or "-", j.state, j.owner or "-", j.queue or "-",
             j.machine or "-"] for j in jobs]
    table(output, header, rows)


def job_detail(output: Output, job: JobInfo) -> None:
    t = job.template
    fields: list[tuple[str, Any]] = [
        ("id", job.id),
        ("name", t.job_name),
        ("comment", t.comment),
        ("session", job.session),
        ("backend", job.backend),
        ("native id", job.native_id),
        ("state", job.state.value),
        ("attempt", _attempt(job)),
        ("earlier attempts", _earlier(job)),
        ("after", _after(job)),
        ("annotation", job.annotation),
        ("exit status", job.exit_status),
        ("signal", job.signal),
        ("command", command_line(t.argv)),
        ("category", t.job_category),
        ("working dir", t.working_directory),
        ("environment", " ".join(f"{k}={v}" for k, v in t.job_environment.items()) or None),
        ("input", t.input_path),
        ("output", job.output_path),
        ("error", "(joined with output)" if job.error_path and job.error_path == job.output_path
         else job.error_path),
        ("timeout", _duration(t.timeout) if t.timeout else None),
        ("queue", t.queue_name),
        ("priority", t.priority or None),
        ("begin", rfc3339(t.start_time)),
        ("deadline", rfc3339(t.deadline_time)),
        ("submitted", rfc3339(job.submission_time)),
        ("started", rfc3339(job.dispatch_time)),
        ("finished", rfc3339(job.finish_time)),
        ("wallclock", _duration(job.wallclock_time) if job.dispatch_time else None),
        ("cpu time", f"{job.cpu_time:.3f}s" if job.cpu_time is not None else None),
        ("max rss", f"{job.max_rss} KiB" if job.max_rss is not None else None),
        ("machine", job.machine),
        ("submitted from", job.submission_machine),
        ("owner", job.job_owner),
    ]
    shown = [(k, printable(str(v))) for k, v in fields if v is not None and v != ""]
    width = max(len(k) for k, _ in shown)
    for key, value in shown:
        output.line(f"{key.ljust(width)}  {value}")



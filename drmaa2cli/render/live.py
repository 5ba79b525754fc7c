"""What a terminal shows while a command waits: a progress bar of ended jobs, and `status --watch`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from ..models import JobInfo
from .output import STATE_STYLE, Output, printable
from .tables import job_rows, jobs_table, rich_table


class WaitProgress:
    """A progress bar of ended jobs on a terminal's stderr; does nothing when stderr is not a terminal."""

    def __init__(self, output: Output, total: int) -> None:
        self.progress: Any = None
        if total < 2 or not (output.err.isatty() and os.environ.get("TERM") != "dumb"):
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=output.err, no_color="NO_COLOR" in os.environ)
        self.progress = Progress(TextColumn("waiting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=console, transient=True)
        self.task = self.progress.add_task("wait", total=total)

    def __enter__(self) -> WaitProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, jobs: list[JobInfo]) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=sum(1 for j in jobs if j.state.final))


def watch(output: Output, fetch: Callable[[], list[JobInfo]], show_session: bool, interval: float) -> None:
    """Show the jobs until every one of them has ended: a live table on a terminal; on a pipe, the table again
    whenever a state changed."""
    jobs = fetch()
    if output.rich:
        from rich.console import Console
        from rich.live import Live
        from rich.table import Table

        def build(jobs: list[JobInfo]) -> Table:
            header, rows = job_rows(jobs, show_session)
            styles = {i: STATE_STYLE.get(j.state, "") for i, j in enumerate(jobs)} if output.color else None
            table: Table = rich_table(header, [[printable(c) for c in row] for row in rows], styles)
            return table

        console = Console(file=output.out, no_color=not output.color, highlight=False)
        with Live(build(jobs), console=console, auto_refresh=False) as live:
            while not all(j.state.final for j in jobs):
                time.sleep(interval)
                jobs = fetch()
                live.update(build(jobs), refresh=True)
        return
    last: list[tuple[str, str]] = []
    while True:
        states = [(j.id, j.state.value) for j in jobs]
        if states != last:
            if last:
                output.line()
            jobs_table(output, jobs, show_session)
            output.out.flush()
            last = states
        if all(j.state.final for j in jobs):
            return
        time.sleep(interval)
        jobs = fetch()


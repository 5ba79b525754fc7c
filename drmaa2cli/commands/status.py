"""drmaa2 status [JOBID...]"""

from typing import TYPE_CHECKING, Annotated

import typer

from .. import render
from ..errors import InvalidArgument
from ..models import JobInfo, JobState
from ..render import Output
from ..service import DEFAULT_LIMIT
from . import completion

if TYPE_CHECKING:
    from ..core.sessions import SessionSummary
from ._common import JsonOption, SessionOption, output, service

HELP = "Show jobs: a table of the session's jobs, or every detail of one job."
STATE_HELP = "Only jobs in these states (queued,running; repeatable)."


def command(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Jobs to show (default: the session's jobs).", show_default=False, autocompletion=completion.job_ids)] = None,
    session: SessionOption = None,
    all_sessions: Annotated[bool, typer.Option("--all", "-a", help="Jobs of every session.")] = False,
    state: Annotated[list[str] | None, typer.Option("--state", help=STATE_HELP)] = None,
    name: Annotated[str | None, typer.Option("--name", "-N", help="Only jobs with this name.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Finished jobs to show besides the active ones (0: all).")] = DEFAULT_LIMIT,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Keep showing the jobs until all of them have ended.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between updates with --watch.", min=0.1)] = 1.0,
    json_out: JsonOption = False,
) -> int:
    """Show jobs."""
    states = parse_states(state)
    svc = service(session)
    out = output()

    def fetch() -> tuple[list[JobInfo], bool]:
        if job_ids:
            return [j for j in svc.jobs(job_ids) if states is None or j.state in states], False
        return svc.list_jobs(
            session=None if all_sessions else svc.settings.session, states=states, name=name, limit=max(0, limit)
        )

    if watch and not json_out:
        render.watch(out, lambda: fetch()[0], show_session=all_sessions, interval=interval)
        return 0
    jobs, truncated = fetch()
    # --limit may cut an array: its line counts every task, not only those shown.
    cut = sorted({j.id.split(".", 1)[0] for j in jobs if "." in j.id}) if truncated else []
    arrays = render.array_summaries(svc.jobs(cut)) if cut else None
    if json_out:
        out.json(render.jobs_document(jobs, arrays))
    elif job_ids and len(jobs) == 1:
        render.job_detail(out, jobs[0])
    else:
        render.jobs_table(out, jobs, show_session=all_sessions, arrays=arrays)
        if not jobs and not (job_ids or all_sessions or states or name):
            hint_other_sessions(out, svc.sessions(), svc.settings.session)
        if truncated:
            out.note(f"older finished jobs are not shown (--limit {limit}; --limit 0 shows all)")
    return 0


def parse_states(given: list[str] | None) -> set[JobState] | None:
    """The states of ``--state`` (repeated, or a list as squeue's ``-t`` takes it: ``queued,running``); None
    when none is given. Raises InvalidArgument naming an unknown state."""
    if not given:
        return None
    words = [w.strip().lower() for item in given for w in item.split(",") if w.strip()]
    try:
        return {JobState(w) for w in words}
    except ValueError:
        raise InvalidArgument(
            f"--state: unknown state in {', '.join(given)} (states: {', '.join(s.value for s in JobState)})"
        ) from None


def hint_other_sessions(out: Output, sessions: "list[SessionSummary]", current: str) -> None:
    """An empty table of the current session: say where the jobs are, if anywhere (stderr)."""
    others = [(s.name, sum(s.counts.values())) for s in sessions if s.name != current and s.counts]
    if others:
        listed = ", ".join(f"{name} ({n})" for name, n in others[:5]) + (", …" if len(others) > 5 else "")
        out.note(f"no jobs in session {current}; jobs in other sessions: {listed} "
                 "(`--all` shows every session, `--session NAME` one)")

"""What `run` adds to `submit` once the job is submitted (its options are submit's, see ``run``).

The job gets run's standard input (``core.stdin``), its stdout and stderr come back on run's own as they grow,
and Ctrl-C stops the job as `drmaa2 kill` would: nothing is left running behind an interrupted `run`."""

import sys
import time
from collections.abc import Callable

from ..core.stdin import Feed, waiting
from ..errors import ExitStatus, InvalidState, WaitTimeout
from ..models import JobInfo, JobTemplate
from ..render import Output
from ..service import Service
from ._service import report_end

#: How long an interrupted `run` waits for the job it stopped to end (the grace period before SIGKILL is 5 s
#: on most backends; a scheduler may take a little longer to say so).
STOP_PATIENCE = 60.0


def stdin_feed(svc: Service, template: JobTemplate, array: bool) -> Feed | None:
    """Give the job run's standard input when there is some and no --input was asked for; raises
    UnsupportedAttribute on a backend whose jobs have no standard input."""
    if template.input_path or not waiting():
        return None
    return Feed(svc.backend(svc.settings.backend), svc.settings.home, template, array)


def follow_job(svc: Service, out: Output, job_id: str, jobs: list[JobInfo], json_out: bool,
               feed: Feed | None) -> int:
    """Follow one job's output live (arrays: wait, then print each task's output in order), with Ctrl-C
    stopping it. With ``json_out`` nothing is streamed: stdout holds the JSON document alone, which a script
    parses as a whole, and the output stays where `drmaa2 logs` reads it."""
    if any(j.template.submit_as_hold for j in jobs):
        out.note(f"job {job_id} is held: waiting until it is released (`drmaa2 release {job_id}`)")

    def seen(now: list[JobInfo]) -> None:
        if feed is not None:
            feed.seen(now)

    sink = Sink()
    try:
        done = _follow(svc, job_id, jobs, json_out, seen, sink)
    except KeyboardInterrupt:
        return stop(svc, out, job_id, sink if sink.streams else None)
    finally:
        if feed is not None:
            feed.close()
    return report_end(out, done, json_out)


class Sink:
    """Where a followed job's output goes (run's stdout and stderr), counting what it passed on, so that an
    interrupted `run` goes on from there while the job it stopped says its last words."""

    def __init__(self) -> None:
        self.streams: tuple[str, ...] = ()
        self.offsets: dict[str, int] = {}

    def __call__(self, stream: str, data: bytes) -> None:
        self.offsets[stream] = self.offsets.get(stream, 0) + len(data)
        write_stream(stream, data)


def _follow(svc: Service, job_id: str, jobs: list[JobInfo], json_out: bool,
            seen: Callable[[list[JobInfo]], None], sink: Sink) -> list[JobInfo]:
    if json_out:
        return svc.wait([job_id], on_progress=seen)
    if len(jobs) > 1:
        done = svc.wait([job_id], on_progress=seen)
        for job in done:
            for stream in ("out", "err"):
                write_stream(stream, svc.output(job, stream))
        return done
    first = jobs[0]
    joined = first.template.join_files or (first.output_path is not None and first.output_path == first.error_path)
    sink.streams = ("out",) if joined else ("out", "err")
    return [svc.follow(job_id, sink.streams, sink, on_update=lambda job: seen([job]))]


def stop(svc: Service, out: Output, job_id: str, sink: Sink | None = None) -> int:
    """Ctrl-C: kill the job (SIGTERM, SIGKILL after the grace period), say so, and wait for it to end (a second
    Ctrl-C stops waiting, not the killing); with ``sink``, the job's output is followed on from where it was
    until then, so what its TERM trap says is seen too. Exits 130, as an interrupted command does."""
    out.note(f"interrupted: stopping job {job_id} (as `drmaa2 kill {job_id}` does)")
    out.err.flush()
    try:
        killed = svc.kill([job_id])
        if sink is not None:
            _follow_to_the_end(svc, job_id, sink)
        elif not all(j.state.final for j in killed):
            svc.wait([job_id], timeout=STOP_PATIENCE)
        out.note(f"stopped job {job_id}")
    except InvalidState:  # it ended meanwhile
        out.note(f"job {job_id} had ended")
    except KeyboardInterrupt:
        out.note(f"job {job_id} is being stopped; `drmaa2 status {job_id}` shows when it has ended")
    except WaitTimeout:
        out.note(f"job {job_id} was sent its stop but has not ended yet: see `drmaa2 status {job_id}`")
    return int(ExitStatus.INTERRUPTED)


def _follow_to_the_end(svc: Service, job_id: str, sink: Sink) -> None:
    """The stopped job's last output, until it has ended or STOP_PATIENCE has passed (WaitTimeout)."""
    deadline = time.monotonic() + STOP_PATIENCE

    def patience(job: JobInfo) -> None:
        if not job.state.final and time.monotonic() > deadline:
            raise WaitTimeout(f"job {job_id} has not ended within {STOP_PATIENCE:.0f}s")

    svc.follow(job_id, sink.streams, sink, offsets=sink.offsets, on_update=patience)


def write_stream(stream: str, data: bytes) -> None:
    target = sys.stdout.buffer if stream == "out" else sys.stderr.buffer
    target.write(data)
    target.flush()

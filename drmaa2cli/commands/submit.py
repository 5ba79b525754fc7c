"""drmaa2 submit [OPTIONS] -- COMMAND [ARGS...]"""

import inspect
import os
import sys
from typing import Annotated, Any

import typer

from .. import completion, parsing, render
from ..backends import ending
from ..errors import InvalidArgument
from ..models import JobInfo, JobState, JobTemplate
from ..render import Output
from ..service import Service, exit_code_of
from ._common import BackendOption, JsonOption, SessionOption, output, service

HELP = "Submit a job: everything after `--` is the command and its arguments, passed byte for byte."


def build_template(
    command: list[str], *, name: str | None = None, cwd: str | None = None, env: list[str] | None = None,
    input_path: str | None = None, output_path: str | None = None, error_path: str | None = None,
    join: bool = False, hold: bool = False, timeout: str | None = None, category: str | None = None,
    queue: str | None = None, memory: str | None = None, cpus: str | None = None, disk: str | None = None,
    mount: list[str] | None = None, user: str | None = None, pull: bool = False, native: str | None = None,
) -> JobTemplate:
    """The job template for the submit options (shared with `run`)."""
    limits: dict[str, object] = {}
    if memory:
        limits["memory_mb"] = parsing.size_mib(memory, "--memory")
    if disk:
        limits["disk_mb"] = parsing.size_mib(disk, "--disk")
    if cpus:
        limits["cpus"] = parsing.positive_float(cpus, "--cpus")
    extension: dict[str, object] = {}
    if user:
        extension["user"] = user
    if pull:
        extension["pull"] = True
    if native:
        import shlex  # rarely needed: not worth loading on every submit

        extension["native"] = shlex.split(native)
    return JobTemplate(
        remote_command=command[0] if command else "",
        args=list(command[1:]),
        job_name=name,
        working_directory=absolute(cwd),
        job_environment=parsing.environment(env or []),
        input_path=absolute(input_path),
        output_path=absolute(output_path),
        error_path=absolute(error_path),
        join_files=join,
        job_category=category,
        submit_as_hold=hold,
        timeout=parsing.duration(timeout) if timeout else None,
        queue_name=queue,
        resource_limits=limits,
        stage_in_files=parsing.mounts(mount or []),
        extension=extension,
    )


def absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def report_failure(out: Output, job: JobInfo) -> None:
    """One stderr line when a job failed for a reason other than its own non-zero exit."""
    if job.state is JobState.FAILED and ending.says_more_than_its_status(job.exit_status, job.signal, job.annotation):
        out.note(f"job {job.id} failed: {job.annotation}")


def command(
    command: Annotated[list[str] | None, typer.Argument(help="The command and its arguments.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", "-N", help="Job name.")] = None,
    session: SessionOption = None,
    backend: BackendOption = None,
    cwd: Annotated[str | None, typer.Option("--cwd", "-d", help="Working directory of the job.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-v", help="KEY=VALUE for the job's environment (repeatable; a bare KEY copies it).")] = None,
    input_path: Annotated[str | None, typer.Option("--input", "-i", help="File the job reads as standard input.")] = None,
    output_path: Annotated[str | None, typer.Option("--output", "-o", help="File for the job's standard output (placeholders %A %a %j).")] = None,
    error_path: Annotated[str | None, typer.Option("--error", "-e", help="File for the job's standard error (placeholders %A %a %j).")] = None,
    join: Annotated[bool, typer.Option("--join", "-j", help="Send standard error to the output file.")] = False,
    timeout: Annotated[str | None, typer.Option("--timeout", "-t", help="Kill the job after this run time (90s, 5m, 1h).")] = None,
    array: Annotated[str | None, typer.Option("--array", "-A", help="Job array FIRST-LAST[:STEP][%MAXPARALLEL]; tasks see DRMAA2_TASK_ID.")] = None,
    after: Annotated[list[str] | None, typer.Option("--after", help="Start after these jobs are done; fail if one fails (ID[,ID...]).", autocompletion=completion.job_ids)] = None,
    after_any: Annotated[list[str] | None, typer.Option("--after-any", help="Start after these jobs ended, whatever their result.", autocompletion=completion.job_ids)] = None,
    hold: Annotated[bool, typer.Option("--hold", "-H", help="Submit held (queued_held) until `drmaa2 release`.")] = False,
    image: Annotated[str | None, typer.Option("--image", help="Container image (docker, kubernetes backends).")] = None,
    app: Annotated[str | None, typer.Option("--app", help="Application name (cf backend).")] = None,
    category: Annotated[str | None, typer.Option("--category", help="DRMAA2 job category (what --image and --app set).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Queue or partition (cluster backends).")] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory limit (512m, 2g).")] = None,
    cpus: Annotated[str | None, typer.Option("--cpus", help="CPU limit (1.5).")] = None,
    disk: Annotated[str | None, typer.Option("--disk", help="Disk limit (1g; cf backend).")] = None,
    mount: Annotated[list[str] | None, typer.Option("--mount", help="Bind mount SRC:DST[:ro] (docker; kubernetes: a path on the node; repeatable).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="User to run as inside the container.")] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Pull the image if it is not present (docker; kubernetes: always pull).")] = False,
    native: Annotated[str | None, typer.Option("--native", help="Extra options passed to the scheduler as they are.")] = None,
    wait: Annotated[bool, typer.Option("--wait", "-W", help="Wait for the job and exit with its exit code.")] = False,
    terse: Annotated[bool, typer.Option("--terse", help="Print only the job id.")] = False,
    json_out: JsonOption = False,
) -> int:
    """Submit a job."""
    return submit_with(locals(), stream=False)


def run_command(**options: Any) -> int:
    """Submit, stream the output live, wait, and exit with the job's exit code."""
    return submit_with(options, stream=True)


# `run` takes exactly the options of `submit` (Typer reads both of these).
run_command.__signature__ = inspect.signature(command, eval_str=True)  # type: ignore[attr-defined]
run_command.__annotations__ = command.__annotations__
RUN_HELP = (
    "Run a job synchronously: submit it, stream its output live, exit with its exit code. With --json the "
    "output is not streamed (stdout holds the JSON alone; `drmaa2 logs ID` prints the output)."
)


def submit_with(o: dict[str, Any], stream: bool) -> int:
    template = build_template(
        o["command"] or [], name=o["name"], cwd=o["cwd"], env=o["env"], input_path=o["input_path"],
        output_path=o["output_path"], error_path=o["error_path"], join=o["join"], hold=o["hold"],
        timeout=o["timeout"], category=o["category"] or o["image"] or o["app"], queue=o["queue"],
        memory=o["memory"], cpus=o["cpus"], disk=o["disk"], mount=o["mount"], user=o["user"], pull=o["pull"],
        native=o["native"],
    )
    if o["after"] and o["after_any"]:
        raise InvalidArgument("use --after or --after-any, not both")
    svc = service(o["session"], o["backend"])
    out = output()
    jobs = svc.submit_jobs(
        template,
        array=parsing.array(o["array"]) if o["array"] else None,
        after=parsing.job_ids(o["after"] or o["after_any"] or []),
        after_mode="any" if o["after_any"] else "ok",
    )
    job_id = str(jobs[0].number) if o["array"] else jobs[0].id
    if stream:
        return stream_job(svc, out, job_id, jobs, o["json_out"])
    if o["json_out"] and not o["wait"]:
        out.json(render.jobs_document(jobs) if o["array"] else {"job": jobs[0].to_public()})
    elif o["terse"]:
        out.line(job_id)
    elif not o["json_out"]:
        out.line(f"Submitted job {job_id}" + (f" ({len(jobs)} tasks)" if o["array"] else ""))
    out.out.flush()
    if not o["wait"]:
        return 0
    done = svc.wait([job_id])
    for job in done:
        report_failure(out, job)
    if o["json_out"]:
        out.json(render.jobs_document(done))
    return exit_code_of(done)


def stream_job(svc: Service, out: Output, job_id: str, jobs: list[JobInfo], json_out: bool) -> int:
    """Follow one job's output live (arrays: wait, then print each task's output in order). With ``json_out``
    nothing is streamed: stdout holds the JSON document alone, which a script parses as a whole, and the
    output stays where `drmaa2 logs` reads it."""
    if json_out:
        done = svc.wait([job_id])
    elif len(jobs) > 1:
        done = svc.wait([job_id])
        for job in done:
            for stream in ("out", "err"):
                write_stream(stream, svc.output(job, stream))
    else:
        first = jobs[0]
        joined = first.template.join_files or (first.output_path is not None and first.output_path == first.error_path)
        done = [svc.follow(job_id, ("out",) if joined else ("out", "err"), write_stream)]
    for job in done:
        report_failure(out, job)
    if json_out:
        out.json(render.jobs_document(done))
    return exit_code_of(done)


def write_stream(stream: str, data: bytes) -> None:
    target = sys.stdout.buffer if stream == "out" else sys.stderr.buffer
    target.write(data)
    target.flush()

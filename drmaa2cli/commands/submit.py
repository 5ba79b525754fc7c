"""drmaa2 submit [OPTIONS] -- COMMAND [ARGS...]"""

from __future__ import annotations

import os
import shlex
from typing import Annotated

import typer

from .. import parsing
from ..models import JobInfo, JobState, JobTemplate
from ..render import Output
from ..service import Service, exit_code_of
from ._common import JsonOption, SessionOption, output, service

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
    if job.state is JobState.FAILED and job.annotation and not job.annotation.startswith("exited with"):
        out.note(f"job {job.id} failed: {job.annotation}")


def wait_and_exit_code(svc: Service, out: Output, job: JobInfo) -> int:
    (job,) = svc.wait([job.id])
    report_failure(out, job)
    return exit_code_of([job])


def command(
    command: Annotated[list[str] | None, typer.Argument(help="The command and its arguments.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", "-N", help="Job name.")] = None,
    session: SessionOption = None,
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="Backend (default: $DRMAA2_BACKEND, config file, 'process').", show_default=False)] = None,
    cwd: Annotated[str | None, typer.Option("--cwd", "-d", help="Working directory of the job.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-v", help="KEY=VALUE for the job's environment (repeatable; a bare KEY copies it).")] = None,
    input_path: Annotated[str | None, typer.Option("--input", "-i", help="File the job reads as standard input.")] = None,
    output_path: Annotated[str | None, typer.Option("--output", "-o", help="File for the job's standard output.")] = None,
    error_path: Annotated[str | None, typer.Option("--error", "-e", help="File for the job's standard error.")] = None,
    join: Annotated[bool, typer.Option("--join", "-j", help="Send standard error to the output file.")] = False,
    timeout: Annotated[str | None, typer.Option("--timeout", "-t", help="Kill the job after this run time (90s, 5m, 1h).")] = None,
    image: Annotated[str | None, typer.Option("--image", help="Container image (docker backend).")] = None,
    app: Annotated[str | None, typer.Option("--app", help="Application name (cf backend).")] = None,
    category: Annotated[str | None, typer.Option("--category", help="DRMAA2 job category (what --image and --app set).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Queue or partition (cluster backends).")] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory limit (512m, 2g).")] = None,
    cpus: Annotated[str | None, typer.Option("--cpus", help="CPU limit (1.5).")] = None,
    disk: Annotated[str | None, typer.Option("--disk", help="Disk limit (1g; cf backend).")] = None,
    mount: Annotated[list[str] | None, typer.Option("--mount", help="Bind mount SRC:DST[:ro] (docker backend; repeatable).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="User to run as inside the container.")] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Pull the image if it is not present (docker backend).")] = False,
    native: Annotated[str | None, typer.Option("--native", help="Extra options passed to the scheduler as they are.")] = None,
    hold: Annotated[bool, typer.Option("--hold", "-H", help="Submit held (queued_held) until released.")] = False,
    wait: Annotated[bool, typer.Option("--wait", "-W", help="Wait for the job and exit with its exit code.")] = False,
    terse: Annotated[bool, typer.Option("--terse", help="Print only the job id.")] = False,
    json_out: JsonOption = False,
) -> int:
    """Submit a job."""
    template = build_template(
        command or [], name=name, cwd=cwd, env=env, input_path=input_path, output_path=output_path,
        error_path=error_path, join=join, hold=hold, timeout=timeout, category=category or image or app,
        queue=queue, memory=memory, cpus=cpus, disk=disk, mount=mount, user=user, pull=pull, native=native,
    )
    svc = service(session, backend)
    out = output()
    job = svc.submit(template)
    if json_out and not wait:
        out.json({"job": job.to_public()})
    elif terse:
        out.line(job.id)
    elif not json_out:
        out.line(f"Submitted job {job.id}")
    out.out.flush()
    if not wait:
        return 0
    code = wait_and_exit_code(svc, out, job)
    if json_out:
        out.json({"job": svc.jobs([job.id])[0].to_public()})
    return code

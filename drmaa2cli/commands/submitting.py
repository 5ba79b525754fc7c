"""What `submit` and `run` do once their options are parsed: the job template, job scripts and their
directives, and submitting. Without the parser (Typer): ``drmaa2cli.quick`` runs a plain submit from here."""

import os
import sys
from typing import TYPE_CHECKING, Any

from .. import parsing, render, when
from ..backends import ending
from ..errors import InvalidArgument, UnsupportedAttribute
from ..models import JobInfo, JobState, JobTemplate
from ..render import Output
from ..service import Service, exit_code_of
from ._service import output, service

if TYPE_CHECKING:
    from ..jobscript import JobScript


def build_template(
    command: list[str], *, name: str | None = None, cwd: str | None = None, env: list[str] | None = None,
    input_path: str | None = None, output_path: str | None = None, error_path: str | None = None,
    join: bool = False, hold: bool = False, timeout: str | None = None, category: str | None = None,
    queue: str | None = None, memory: str | None = None, cpus: str | None = None, disk: str | None = None,
    mount: list[str] | None = None, user: str | None = None, pull: bool = False, native: str | None = None,
    variables: list[str] | None = None, export_all: bool | None = None, native_words: list[str] | None = None,
    priority: int = 0, begin: str | None = None, deadline: str | None = None, retries: int = 0,
    retry_delay: str | None = None,
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
    if native or native_words:
        import shlex  # rarely needed: not worth loading on every submit

        extension["native"] = [*(native_words or []), *shlex.split(native or "")]
    environment = parsing.environment(env or [])
    environment.update(parsing.environment(
        [item for text in variables or [] for item in parsing.variable_list(text)], option="-v"))
    if export_all:
        environment = {**os.environ, **environment}
    elif export_all is False and command:  # --export=NONE
        from ..jobscript import argv_clean_env

        command, environment = argv_clean_env(command, environment), {}
    return JobTemplate(
        remote_command=command[0] if command else "",
        args=list(command[1:]),
        job_name=name,
        working_directory=absolute(cwd),
        job_environment=environment,
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
        priority=priority,
        start_time=when.point_in_time(begin) if begin else None,
        deadline_time=when.point_in_time(deadline, "--deadline") if deadline else None,
        retries=retries,
        retry_delay=parsing.duration(retry_delay, "--retry-delay") if retry_delay else None,
    )


def absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def report_failure(out: Output, job: JobInfo) -> None:
    """One stderr line when a job failed for a reason other than its own non-zero exit."""
    if job.state is JobState.FAILED and ending.says_more_than_its_status(job.exit_status, job.signal, job.annotation):
        out.note(f"job {job.id} failed: {job.annotation}")


#: Submit option -> how the user writes it, for messages.
_FLAGS = {"name": "-N", "cwd": "-d", "input_path": "-i", "output_path": "-o", "error_path": "-e", "timeout": "-t",
          "array": "-A", "queue": "-q"}


def refuse_dash_dash(o: dict[str, Any]) -> None:
    """``submit -N -- true``: the parser took `--` for the option's value; no name or file is called that."""
    for key, value in o.items():
        if key != "command" and (value == "--" or (isinstance(value, list) and "--" in value)):
            flag = _FLAGS.get(key, "--" + key.replace("_", "-"))
            raise InvalidArgument(f"{flag} needs a value before `--`")


def read_script(o: dict[str, Any]) -> "JobScript | None":
    """The job script the command names, or that comes on standard input when there is no command."""
    words = o["command"] or []
    if words and not os.path.isfile(words[0]):
        return None  # a command: the job script module is not even loaded
    from .. import jobscript

    return jobscript.find(words, None if sys.stdin is None else sys.stdin.buffer)


def with_directives(o: dict[str, Any], script: "JobScript") -> dict[str, Any]:
    """The options with the script's directives under them (the command line wins)."""
    from .. import jobscript
    from .submit import parse_directive  # the parser: loaded for scripts with directives only

    return jobscript.merge(o, jobscript.apply(script, parse_directive))


def script_command(o: dict[str, Any], script: "JobScript", svc: Service) -> list[str]:
    """The job's command for the script on the chosen backend; fills in the job name (the script's, unless
    given), the paths' %x and the native options of the scheduler's own directives."""
    from .. import jobscript

    args = (o["command"] or [])[1:]
    o["name"] = o["name"] or script.name
    command, o["native_words"], notes = jobscript.job_command(script, args, svc.settings.backend,
                                                              svc.settings.home, o)
    for note in notes:
        output().note(note)
    jobscript.finish_paths(o, o["name"])
    return command


def submit_with(o: dict[str, Any], stream: bool) -> int:
    refuse_dash_dash(o)
    o = dict(o, export_all=True if o["export_all"] else None, native_words=None)
    script = read_script(o)
    if script is not None:
        o = with_directives(o, script)
    if o["export"]:
        from ..jobscript import export

        exported = export(o["export"])
        o["export_all"] = exported.get("export_all", o["export_all"])
        o["env"] = [*(o["env"] or []), *exported.get("env", [])]
    svc = service(o["session"], o["backend"])
    command = o["command"] or []
    if script is not None:
        command = script_command(o, script, svc)
    template = build_template(
        command, name=o["name"], cwd=o["cwd"], env=o["env"], input_path=o["input_path"],
        output_path=o["output_path"], error_path=o["error_path"], join=o["join"], hold=o["hold"],
        timeout=o["timeout"], category=o["category"] or o["image"] or o["app"], queue=o["queue"],
        memory=o["memory"], cpus=o["cpus"], disk=o["disk"], mount=o["mount"], user=o["user"], pull=o["pull"],
        native=o["native"], variables=o["variables"], export_all=o["export_all"], native_words=o["native_words"],
        priority=o["priority"], begin=o["begin"], deadline=o["deadline"], retries=o.get("retries") or 0,
        retry_delay=o.get("retry_delay"),
    )
    if o["after"] and o["after_any"]:
        raise InvalidArgument("use --after or --after-any, not both")
    if o.get("retry_delay") and not o.get("retries"):
        raise InvalidArgument("--retry-delay needs --retries N")
    out = output()
    feed = None
    if stream:
        from . import run  # run's own parts: not loaded by every submit

        feed = run.stdin_feed(svc, template, array=bool(o["array"]))
        if not o["array"] and not o["json_out"]:
            svc.backend(svc.settings.backend).will_follow()  # its output is streamed (run.follow_job)
    try:
        jobs = svc.submit_jobs(
            template,
            array=parsing.array(o["array"]) if o["array"] else None,
            after=parsing.job_ids(o["after"] or o["after_any"] or []),
            after_mode="any" if o["after_any"] else "ok",
        )
    except UnsupportedAttribute as e:
        if feed is not None:
            feed.close()
        from .refusals import in_users_words

        raise in_users_words(e, o, svc.settings.backend) from None
    except BaseException:
        if feed is not None:
            feed.close()
        raise
    job_id = str(jobs[0].number) if o["array"] else jobs[0].id
    if stream:
        return run.follow_job(svc, out, job_id, jobs, o["json_out"], feed)
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

"""What `submit` and `run` do once their options are parsed: the job template, job scripts and their
directives, and submitting. Without the parser (Typer): ``cli.quick`` runs a plain submit from here."""

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import parsing, render
from ..errors import ExitStatus, InvalidArgument, UnsupportedAttribute
from ..models import JobTemplate
from ..service import Service
from . import options
from ._service import output, report_end, service

if TYPE_CHECKING:
    from ..jobscript import JobScript


def _point_in_time(text: str, flag: str) -> float:
    from .. import when  # --begin and --deadline only: not worth loading on every submit

    return when.point_in_time(text, flag)


def _mail(kind: str) -> Callable[[Any, str], Any]:
    def convert(text: str, flag: str) -> Any:
        from ..notify import orders  # mail options only

        return orders.mail_types(text, flag) if kind == "types" else orders.addresses(text, flag)
    return convert


#: How the builder reads an option's value (``Option.convert``): (value, flag) -> what the template holds.
CONVERT: dict[str, Callable[[Any, str], Any]] = {
    "path": lambda value, flag: os.path.abspath(value),
    "duration": lambda value, flag: parsing.duration(value, flag),
    "size": parsing.size_mib,
    "positive": parsing.positive_float,
    "time": _point_in_time,
    "mounts": lambda value, flag: parsing.mounts(value),
    "mail_types": _mail("types"),
    "addresses": _mail("addresses"),
}
#: Template fields that hold a dict: a dotted ``Option.field`` fills one key of these.
_DICT_FIELDS = ("resource_limits", "extension")
#: Fields made by hand in ``build_template`` from more than one option.
_SPECIAL = ("job_environment", "extension.native")


def build_template(command: list[str], o: Mapping[str, Any]) -> JobTemplate:
    """The job template for the submit options ``o`` (by parameter name, as ``options.SUBMIT`` declares them;
    shared with `run`). Every option that fills a field is read from its declaration; the environment (four
    options and the job's command) and the native options (with a job script's own directives) are made
    here. Raises InvalidArgument for a malformed value."""
    values: dict[str, Any] = {"resource_limits": {}, "extension": {}}
    for option in options.SUBMIT:
        value = o.get(option.param)
        if option.field is None or option.field in _SPECIAL or value in (None, False, [], ()):
            continue
        if option.convert is not None:
            value = CONVERT[option.convert](value, option.flags[0])
        field, _, key = option.field.partition(".")
        if field in _DICT_FIELDS:
            values[field][key] = value
        elif field not in values or option.field == field:  # --category over --image, --image over --app
            values[field] = value
    if o.get("native") or o.get("native_words"):
        import shlex  # rarely needed: not worth loading on every submit

        values["extension"]["native"] = [*(o.get("native_words") or []), *shlex.split(o.get("native") or "")]
    command, values["job_environment"] = environment(command, o)
    return JobTemplate(remote_command=command[0] if command else "", args=list(command[1:]), **values)



def notifications(svc: Service, template: JobTemplate) -> None:
    """The config's hook for a job that names none (``[notify] command``), and the one warning line when mail
    is asked for that this machine cannot send (no sendmail)."""
    from ..notify.orders import submit_warning

    if template.notify_command is None:
        template.notify_command = svc.settings.notify_command
    warning = submit_warning(template, type(svc.backend(svc.settings.backend)), svc.environ)
    if warning is not None:
        output().note(f"warning: {warning}")


def environment(command: list[str], o: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The job's command and environment from --env, --variables and --export-all (True, None, or False for
    sbatch's --export=NONE, which also cleans the command's own environment)."""
    env = parsing.environment(o.get("env") or [])
    env.update(parsing.environment(
        [item for text in o.get("variables") or [] for item in parsing.variable_list(text)], option="-v"))
    if o.get("export_all"):
        env = {**os.environ, **env}
    elif o.get("export_all") is False and command:  # --export=NONE
        from ..jobscript import argv_clean_env

        command, env = argv_clean_env(command, env), {}
    return command, env


def refuse_dash_dash(o: dict[str, Any]) -> dict[str, Any]:
    """``submit -N -- true``: the parser took `--` for the option's value; no name or file is called that.
    Returns ``o``."""
    for key, value in o.items():
        if key != "command" and (value == "--" or (isinstance(value, list) and "--" in value)):
            raise InvalidArgument(f"{options.BY_PARAM[key].spelled} needs a value before `--`")
    return o


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
    from ._common import parse_directive  # the parser: loaded for scripts with directives only

    return jobscript.merge(o, jobscript.apply(script, lambda words: refuse_dash_dash(parse_directive(words))))


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
    template = build_template(command, o)
    if template.mail_types or svc.settings.notify_command:
        notifications(svc, template)
    if o["after"] and o["after_any"]:
        raise InvalidArgument("use --after or --after-any, not both")
    out = output()
    feed = None
    if stream:
        from . import following  # run's own parts: not loaded by every submit

        feed = following.stdin_feed(svc, template, array=bool(o["array"]))
        if not o["array"] and not o["json_out"]:
            svc.backend(svc.settings.backend).will_follow()  # its output is streamed (following.follow_job)
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
        return following.follow_job(svc, out, job_id, jobs, o["json_out"], feed)
    if o["json_out"] and not o["wait"]:
        out.json(render.jobs_document(jobs) if o["array"] else {"job": jobs[0].to_public()})
    elif o["terse"]:
        out.line(job_id)
    elif not o["json_out"]:
        out.line(f"Submitted job {job_id}" + (f" ({len(jobs)} tasks)" if o["array"] else ""))
    out.out.flush()
    if not o["wait"]:
        return 0
    try:
        done = svc.wait([job_id])
    except KeyboardInterrupt:
        if o["detach_on_interrupt"]:
            out.note(f"interrupted: job {job_id} goes on (--detach-on-interrupt); `drmaa2 wait {job_id}` waits "
                     "for it")
            return int(ExitStatus.INTERRUPTED)
        from .following import stop

        return stop(svc, out, job_id)
    return report_end(out, done, o["json_out"])

"""The options of `submit` and `run`, each declared once: its flags, kind, help, default and the job template
field it fills. The Typer signature (``_common.command_from``), the fast parser's table (``cli.quick``), the
template builder (``submitting.build_template``), the refusal words (``refusals``) and so the man page and the
shell completions are all made from ``SUBMIT``; which backends honour a field is read from the backends' own
declarations (``refusals.owners``).

Imports nothing heavy: a plain submit reads its command line with this table and no parser.
"""

from typing import Any

from ..parsing import DURATION_HELP


class Option:
    """One option. ``kind``: "flag" (no value), "one" (a string), "many" (repeatable, a list of strings),
    "int" (an integer within ``bounds``). ``field``: the template field it fills -- a dotted name fills one key
    of a dict field (``resource_limits.memory_mb``, ``extension.user``) or says which kind of value a field
    holds (``job_category.image``); None for options that steer the command rather than the job.
    ``convert``: how the builder reads the value (a key of ``submitting.CONVERT``); ``complete``: the name of
    the function of ``commands.completion`` that completes it.

    A plain class: a NamedTuple's class is built by ``exec`` when this module loads, on every submit."""

    __slots__ = ("bounds", "complete", "convert", "default", "field", "flags", "help", "kind", "param",
                 "show_default")

    def __init__(self, param: str, flags: tuple[str, ...], kind: str, help: str, field: str | None = None,
                 convert: str | None = None, *, default: Any = None, bounds: tuple[int, int] | None = None,
                 complete: str | None = None, show_default: bool = True) -> None:
        self.param, self.flags, self.kind, self.help, self.field = param, flags, kind, help, field
        self.convert, self.default, self.bounds, self.complete = convert, default, bounds, complete
        self.show_default = show_default

    def __repr__(self) -> str:
        return f"Option({self.flags[0]})"

    @property
    def spelled(self) -> str:
        """How a message names the option: its short flag when it has one (as people type it)."""
        return min(self.flags, key=len)


def _flag(param: str, flags: tuple[str, ...], help: str, field: str | None = None) -> Option:
    return Option(param, flags, "flag", help, field, default=False)


SESSION = Option("session", ("--session", "-s"), "one", "Job session (default: $DRMAA2_SESSION, config file, "
                 "'default').", complete="sessions", show_default=False)
BACKEND = Option("backend", ("--backend", "-b"), "one", "Backend (default: $DRMAA2_BACKEND, config file, "
                 "'process').", complete="backend_names", show_default=False)
JSON = _flag("json_out", ("--json",), "Print a JSON document (schema_version 1) on stdout and nothing else.")

#: In the order `submit --help` and the man page list them.
SUBMIT: tuple[Option, ...] = (
    Option("name", ("--name", "-N"), "one", "Job name.", "job_name"),
    SESSION,
    BACKEND,
    Option("cwd", ("--cwd", "-d"), "one", "Working directory of the job.", "working_directory", "path"),
    Option("env", ("--env",), "many", "KEY=VALUE for the job's environment, exactly (repeatable; a bare KEY "
           "copies it).", "job_environment"),
    Option("variables", ("--variables", "-v"), "many", "qsub's list A=1,B=2,C (a bare C copies it; write a "
           "comma or backslash in a value as \\, or \\\\).", "job_environment"),
    _flag("export_all", ("--export-all", "-V"), "Give the job this whole environment.", "job_environment"),
    Option("export", ("--export",), "one", "sbatch's ALL, NONE (an empty environment) or [ALL,]A=1,B.",
           "job_environment"),
    Option("input_path", ("--input", "-i"), "one", "File the job reads as standard input.", "input_path", "path"),
    Option("output_path", ("--output", "-o"), "one", "File for the job's standard output (placeholders %A %a "
           "%j).", "output_path", "path"),
    Option("error_path", ("--error", "-e"), "one", "File for the job's standard error (placeholders %A %a %j).",
           "error_path", "path"),
    _flag("join", ("--join", "-j"), "Send standard error to the output file.", "join_files"),
    Option("timeout", ("--timeout", "-t"), "one", f"Kill the job after this run time ({DURATION_HELP}).",
           "timeout", "duration"),
    Option("array", ("--array", "-A"), "one", "Job array FIRST-LAST[:STEP][%MAXPARALLEL] (1-9:2%3); tasks see "
           "DRMAA2_TASK_ID."),
    Option("after", ("--after",), "many", "Start after these jobs are done; fail if one fails (ID[,ID...]).",
           complete="job_ids"),
    Option("after_any", ("--after-any",), "many", "Start after these jobs ended, whatever their result.",
           complete="job_ids"),
    _flag("hold", ("--hold", "-H"), "Submit held (queued_held) until `drmaa2 release`.", "submit_as_hold"),
    Option("image", ("--image",), "one", "Container image (docker, kubernetes backends).", "job_category.image"),
    Option("app", ("--app",), "one", "Application name (cf backend).", "job_category.app"),
    Option("category", ("--category",), "one", "DRMAA2 job category (what --image and --app set).",
           "job_category"),
    Option("queue", ("--queue", "-q"), "one", "Queue or partition (cluster backends), or a local queue of the "
           "config ([queues.NAME] slots = N).", "queue_name"),
    Option("priority", ("--priority",), "int", "Among jobs waiting for a slot of a local queue, higher starts "
           "first.", "priority", default=0, bounds=(-1_000_000, 1_000_000)),
    Option("begin", ("--begin",), "one", "Do not start before this time: 2026-12-01T08:00, 08:00 or +10m.",
           "start_time", "time"),
    Option("deadline", ("--deadline",), "one", "Kill the job at this time, as --timeout does (formats of "
           "--begin).", "deadline_time", "time"),
    Option("retries", ("--retries",), "int", "Run a failed job again, up to N times (`wait` gives the last "
           "attempt's code).", "retries", default=0, bounds=(0, 1000)),
    Option("retry_delay", ("--retry-delay",), "one", f"Pause between a failure and its retry ({DURATION_HELP}).",
           "retry_delay", "duration"),
    Option("memory", ("--memory",), "one", "Memory limit (512m, 2g).", "resource_limits.memory_mb", "size"),
    Option("cpus", ("--cpus",), "one", "CPU limit (1.5).", "resource_limits.cpus", "positive"),
    Option("disk", ("--disk",), "one", "Disk limit (1g; cf backend).", "resource_limits.disk_mb", "size"),
    Option("mount", ("--mount",), "many", "Bind mount SRC:DST[:ro] (docker; kubernetes: a path on the node; "
           "repeatable).", "stage_in_files", "mounts"),
    Option("user", ("--user",), "one", "User to run as inside the container.", "extension.user"),
    _flag("pull", ("--pull",), "Pull the image if it is not present (docker; kubernetes: always pull).",
          "extension.pull"),
    Option("native", ("--native",), "one", "Extra options passed to the scheduler as they are.",
           "extension.native"),
    Option("contact", ("--contact",), "one", "The drmaa2 server of --backend remote (http://HOST:PORT, "
           "unix:PATH).", "extension.contact"),
    Option("comment", ("--comment",), "one", "A note kept with the job: `status` shows it (Slurm: sbatch "
           "--comment; Grid Engine: qsub -ac comment=).", "comment"),
    Option("mail_type", ("--mail-type",), "one", "Mail at these events: BEGIN, END, FAIL, ALL or NONE, a comma "
           "list as sbatch's (a scheduler mails itself; elsewhere the machine's sendmail).", "mail_types",
           "mail_types"),
    Option("mail_user", ("--mail-user",), "one", "Who gets the mail (default: your login name; user@host, "
           "comma-separated).", "email", "addresses"),
    Option("notify", ("--notify",), "one", "Run this shell command (sh -c) at the job's events, with "
           "DRMAA2_EVENT, DRMAA2_JOB_ID, DRMAA2_JOB_STATE, DRMAA2_EXIT_STATUS, ... set (default: [notify] "
           "command of the config).", "notify_command", show_default=False),
    _flag("wait", ("--wait", "-W"), "Wait for the job and exit with its exit code; Ctrl-C then stops the job, as "
          "`run` does."),
    _flag("detach_on_interrupt", ("--detach-on-interrupt",), "With --wait: Ctrl-C stops the waiting only and "
          "leaves the job running (its id on stderr)."),
    _flag("strict", ("--strict",), "A job script's directives that mean nothing on this backend (--account, "
          "--qos, ...) are refused, not ignored with a warning ([jobscripts] strict = true does the same)."),
    _flag("terse", ("--terse",), "Print only the job id."),
    JSON,
)

BY_PARAM: dict[str, Option] = {o.param: o for o in SUBMIT}
#: What the command receives for an option not given.
DEFAULTS: dict[str, Any] = {o.param: o.default for o in SUBMIT}


def for_field(field: str) -> list[Option]:
    """The options that fill template field ``field`` (or one key of it), in the table's order."""
    return [o for o in SUBMIT if o.field is not None and (o.field == field or o.field.split(".")[0] == field)]

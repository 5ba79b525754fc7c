"""The options of sbatch (Slurm 22.05), qsub (Grid Engine 8.1.9) and PBS (OpenPBS, Torque) that drmaa2 knows,
each with its treatment and what it sets: units as each writes them (a bare #SBATCH time is minutes, a bare
h_rt or walltime seconds, a bare h_vmem bytes), path placeholders turned into drmaa2's. An option not listed
here is unknown: refused off its own scheduler, passed to it unchanged there."""

from __future__ import annotations

import os
import re

from .. import parsing
from ..errors import InvalidArgument
from ..notify import orders
from .directives import (
    BOOKKEEPING,
    CHECKED,
    HONOURED,
    NAME_MARK,
    REFUSED,
    Item,
    Options,
    Reader,
    Spec,
    read_words,
    table_of,
)

# --- readers shared by the families ---------------------------------------------------------------------
_SLURM_PATTERN = re.compile(r"%(%|j|A|a|x|[0-9]*[a-zA-Z])")
_SGE_VARS = {"$JOB_ID": "%A", "$TASK_ID": "%a", "$JOB_NAME": NAME_MARK}
_SGE_VAR = re.compile(r"\$(JOB_ID|TASK_ID|JOB_NAME|[A-Za-z_][A-Za-z0-9_]*)")


def seconds(value: float) -> str:
    """A duration in the form the command line's --timeout reads back unchanged."""
    return f"{value:g}s"


def slurm_pattern(path: str) -> str:
    """An sbatch file pattern in drmaa2's placeholders; refuses the ones drmaa2 cannot fill (%N %u ...)."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) in ("%", "j", "A", "a"):
            return m.group(0)
        if m.group(1) == "x":
            return NAME_MARK
        raise InvalidArgument(f"the file name pattern %{m.group(1)} is not supported (use %j %A %a %x)")

    return _SLURM_PATTERN.sub(one, path)


def sge_pattern(path: str) -> str:
    """A qsub path in drmaa2's placeholders ($JOB_ID, $TASK_ID, $JOB_NAME); other $ variables are refused
    (qsub expands $HOME and friends on the execution host, which drmaa2 cannot do everywhere)."""
    path = _no_host(path).replace("%", "%%")

    def one(m: re.Match[str]) -> str:
        if m.group(0) in _SGE_VARS:
            return _SGE_VARS[m.group(0)]
        raise InvalidArgument(f"the path variable {m.group(0)} is not supported (use $JOB_ID $TASK_ID $JOB_NAME)")

    return _SGE_VAR.sub(one, path)


def pbs_path(path: str) -> str:
    """A PBS path: taken as written ([host:]path), a % in it kept as itself."""
    return _no_host(path).replace("%", "%%")


def _no_host(path: str) -> str:
    host, colon, rest = path.partition(":")
    return rest if colon and host and "/" not in host else path


def slurm_dependency(text: str) -> Options:
    """afterok:ID[:ID] and afterany:ID[:ID] (drmaa2 job ids; PBS's ID.server is read as ID)."""
    kind, _, ids = text.partition(":")
    if kind not in ("afterok", "afterany") or not ids or "," in text or "?" in text:
        raise InvalidArgument(f"dependency {text!r}: only afterok:ID[:ID...] or afterany:ID[:ID...]")
    return {"after" if kind == "afterok" else "after_any": [i.partition(".")[0] for i in ids.split(":")]}


def export(text: str) -> Options:
    """sbatch's --export: ALL, NONE, or [ALL,]A=1,B (a comma in a value written ``\\,``)."""
    items = parsing.variable_list(text)
    if items == ["NONE"]:
        return {"export_all": False}
    options: Options = {}
    if "ALL" in items:
        items.remove("ALL")
        options["export_all"] = True
    if "NONE" in items:
        raise InvalidArgument("--export=NONE cannot be combined with variables")
    if items:
        options["env"] = items
    return options


def memory(text: str, bare: str = "m") -> str:
    """A size as the command line's --memory reads it: a bare number in ``bare`` units ("m", or "b" for
    Grid Engine's bytes); 4gb and 4GB as 4g."""
    if text.isdigit():
        return f"{int(text) / 1048576:g}m" if bare == "b" else f"{text}{bare}"
    return text[:-1] if text[-2:].lower() in ("kb", "mb", "gb", "tb") else text


def yes_no(text: str) -> bool:
    if text.lower() not in ("y", "yes", "n", "no", "true", "false"):
        raise InvalidArgument(f"expected y or n, not {text!r}")
    return text.lower() in ("y", "yes", "true")


def _timeout(bare: float | None = None) -> Reader:
    """A time limit; ``bare``: what a bare number counts (sbatch: minutes), else seconds."""
    if bare is None:
        return lambda v: {"timeout": seconds(parsing.duration(v))}
    return lambda v: {"timeout": seconds(parsing.duration(v, "--time", bare=bare))}


def pe(text: str) -> Options:
    """qsub's ``-pe NAME N``: N slots on one machine whatever the environment's name (a range is refused)."""
    name, _, slots = text.partition(" ")
    if not slots.isdigit() or int(slots) < 1:
        raise InvalidArgument(f"-pe {name}: expected a number of slots, not {slots!r}")
    return {"cpus": slots}


def select(text: str) -> Options:
    """PBS Pro's ``select=N:ncpus=C:mem=M[:mpiprocs=P]``: N chunks (checked: one), C cpus, M memory."""
    count, *resources = text.split(":")
    options: Options = {"_nodes": count if count.isdigit() else "1"}
    if not count.isdigit():
        resources.insert(0, count)
    for resource in resources:
        key, _, value = resource.partition("=")
        if key == "ncpus":
            options["cpus"] = value
        elif key == "mem":
            options["memory"] = memory(value, "b")
        elif key == "mpiprocs":
            options["_ntasks"] = value
        elif key == "ngpus":
            options["_gres"] = f"gpu:{value}"
        else:
            raise InvalidArgument(f"select: the resource {key!r} is not supported (ncpus, mem, mpiprocs, ngpus)")
    return options


def nodes(text: str) -> Options:
    """Torque's ``nodes=N[:ppn=C]``: N nodes (checked: one), C processors on it."""
    count, *resources = text.split(":")
    options: Options = {"_nodes": count if count.isdigit() else "1"}
    for resource in resources:
        key, _, value = resource.partition("=")
        if key != "ppn":
            raise InvalidArgument(f"nodes: the property {resource!r} is not supported (ppn)")
        options["cpus"] = value
    return options


def pbs_join(text: str) -> Options:
    if text not in ("oe", "eo", "n"):
        raise InvalidArgument(f"-j {text}: expected oe, eo or n")
    return {"join": text != "n"}


def pbs_depend(text: str) -> Options:
    """``-W depend=afterok:ID[:ID]`` (or afterany)."""
    return slurm_dependency(text)


# --- the three tables ----------------------------------------------------------------------------------------
NO_QUEUES = "warned where the backend has no queues, unless it names a local queue of the config"
# The job template fields an option sets.
OUT, ERR, IN, CWD = ("output_path",), ("error_path",), ("input_path",), ("working_directory",)
ENV, LIMITS, QUEUE, TIME = ("job_environment",), ("resource_limits",), ("queue_name",), ("timeout",)
MAIL = ("mail_types", "email")


def _s(family: str, flags: str, treatment: str, read: Reader | None = None, fields: tuple[str, ...] = (),
       nargs: int = 1, listing: bool = False, note: str = "", unmet: str = REFUSED) -> Spec:
    spellings: list[str] = []
    for word in flags.split():  # "-l h_rt -l s_rt": a resource of -l is written after it
        if word.startswith("-"):
            spellings.append(word)
        else:
            spellings[-1] += f" {word}"
    return Spec(family, tuple(spellings), treatment, read, fields, nargs, listing, note, unmet)


def _sbatch() -> list[Spec]:
    f, H, C, B = "sbatch", HONOURED, CHECKED, BOOKKEEPING
    return [
        _s(f, "-J --job-name", H, lambda v: {"name": v}),
        _s(f, "-o --output", H, lambda v: {"output_path": slurm_pattern(v)}, OUT),
        _s(f, "-e --error", H, lambda v: {"error_path": slurm_pattern(v)}, ERR),
        _s(f, "-i --input", H, lambda v: {"input_path": slurm_pattern(v)}, IN),
        _s(f, "-D --chdir", H, lambda v: {"cwd": v}, CWD),
        _s(f, "-t --time", H, _timeout(bare=60.0), TIME, note="a bare number is minutes"),
        _s(f, "-a --array", H, lambda v: {"array": v}),
        _s(f, "-d --dependency", H, slurm_dependency, note="afterok, afterany"),
        _s(f, "-H --hold", H, lambda v: {"hold": True}, nargs=0),
        _s(f, "--export", H, export, ENV),
        _s(f, "--mem", H, lambda v: {"memory": memory(v)}, LIMITS),
        _s(f, "--mem-per-cpu", H, lambda v: {"_mem_per_cpu": memory(v)}, LIMITS, note="times the cpus"),
        _s(f, "-c --cpus-per-task", H, lambda v: {"cpus": v}, LIMITS),
        _s(f, "-p --partition", H, lambda v: {"queue": v}, QUEUE, note=NO_QUEUES, unmet=BOOKKEEPING),
        _s(f, "--exclusive", H, lambda v: {"_exclusive": True}, nargs=0,
           note="no cpu limit: every core of the machine (other jobs are not kept off them)"),
        _s(f, "-N --nodes", C, lambda v: {"_nodes": v}, note="one node"),
        _s(f, "-n --ntasks --ntasks-per-node", C, lambda v: {"_ntasks": v},
           note="tasks x cpus per task within the machine's cores"),
        _s(f, "--gres --gpus -G --gpus-per-node --gpus-per-task", C, lambda v: {"_gres": v},
           note="a GPU only where the machine has one"),
        _s(f, "-A --account -q --qos --reservation --wckey --comment --nice --priority", B),
        _s(f, "--mail-type", H, lambda v: {"mail_type": orders.sbatch_mail_types(v)[0]}, MAIL,
           note="sbatch's words with no counterpart (TIME_LIMIT*, ARRAY_TASKS, ...) are left out"),
        _s(f, "--mail-user", H, lambda v: {"mail_user": v}, MAIL),
        _s(f, "--requeue --no-requeue", B, nargs=0),
    ]


def _qsub() -> list[Spec]:
    f, H, B = "qsub", HONOURED, BOOKKEEPING
    return [
        _s(f, "-N", H, lambda v: {"name": v}),
        _s(f, "-o", H, lambda v: {"output_path": sge_pattern(v)}, OUT),
        _s(f, "-e", H, lambda v: {"error_path": sge_pattern(v)}, ERR),
        _s(f, "-i", H, lambda v: {"input_path": sge_pattern(v)}, IN),
        _s(f, "-j", H, lambda v: {"join": yes_no(v)}),
        _s(f, "-cwd", H, lambda v: {"cwd": os.getcwd()}, CWD, nargs=0),
        _s(f, "-wd", H, lambda v: {"cwd": v}, CWD),
        _s(f, "-l", H, listing=True),
        _s(f, "-l h_rt -l s_rt", H, _timeout(), TIME, note="a bare number is seconds"),
        _s(f, "-l h_vmem -l s_vmem -l mem_free", H, lambda v: {"memory": memory(v, "b")}, LIMITS),
        _s(f, "-t", H, lambda v: {"array": v}),
        _s(f, "-tc", H, lambda v: {"throttle": v}),
        _s(f, "-hold_jid", H, lambda v: {"after_any": [i for i in v.split(",") if i]}),
        _s(f, "-h", H, lambda v: {"hold": True}, nargs=0),
        _s(f, "-v", H, lambda v: {"variables": [v]}, ENV),
        _s(f, "-V", H, lambda v: {"export_all": True}, ENV, nargs=0),
        _s(f, "-pe", H, pe, LIMITS, nargs=2, note="N slots as N cpus, whatever the environment's name"),
        _s(f, "-q", H, lambda v: {"queue": v}, QUEUE, note=NO_QUEUES, unmet=BOOKKEEPING),
        _s(f, "-S", H, lambda v: {"shell": v}),
        _s(f, "-A -P -p -js -ac -dc -sc", B),
        _s(f, "-m", H, lambda v: {"mail_type": orders.mail_letters(v)[0]}, MAIL, note="b e a n (s is left out)"),
        _s(f, "-M", H, lambda v: {"mail_user": v}, MAIL),
        _s(f, "-r -R", B),
    ]


def _pbs() -> list[Spec]:
    f, H, C, B = "pbs", HONOURED, CHECKED, BOOKKEEPING
    return [
        _s(f, "-N", H, lambda v: {"name": v}),
        _s(f, "-o", H, lambda v: {"output_path": pbs_path(v)}, OUT),
        _s(f, "-e", H, lambda v: {"error_path": pbs_path(v)}, ERR),
        _s(f, "-j", H, pbs_join, note="oe, eo: one file"),
        _s(f, "-d", H, lambda v: {"cwd": v}, CWD, note="Torque's working directory"),
        _s(f, "-l", H, listing=True),
        _s(f, "-l walltime", H, _timeout(), TIME, note="a bare number is seconds"),
        _s(f, "-l ncpus -l ppn", H, lambda v: {"cpus": v}, LIMITS),
        _s(f, "-l mem -l vmem", H, lambda v: {"memory": memory(v, "b")}, LIMITS),
        _s(f, "-l select", C, select, LIMITS, note="one chunk; ncpus, mem"),
        _s(f, "-l nodes", C, nodes, LIMITS, note="one node; ppn"),
        _s(f, "-J -t", H, lambda v: {"array": v}),
        _s(f, "-W", H, listing=True),
        _s(f, "-W depend", H, pbs_depend, note="afterok, afterany"),
        _s(f, "-h", H, lambda v: {"hold": True}, nargs=0),
        _s(f, "-v", H, lambda v: {"variables": [v]}, ENV),
        _s(f, "-V", H, lambda v: {"export_all": True}, ENV, nargs=0),
        _s(f, "-q", H, lambda v: {"queue": v}, QUEUE, note=NO_QUEUES, unmet=BOOKKEEPING),
        _s(f, "-S", H, lambda v: {"shell": v}),
        _s(f, "-A -P -p -l place -W group_list", B),
        _s(f, "-m", H, lambda v: {"mail_type": orders.mail_letters(v)[0]}, MAIL, note="b e a n (j is left out)"),
        _s(f, "-M", H, lambda v: {"mail_user": v}, MAIL),
        _s(f, "-r", B),
    ]


#: Family -> its options' declarations, in the docs' order.
SPECS: dict[str, list[Spec]] = {"sbatch": _sbatch(), "qsub": _qsub(), "pbs": _pbs()}
#: Family -> flag -> Spec.
TABLES = {family: table_of(specs) for family, specs in SPECS.items()}


def items(family: str, words: list[str]) -> list[Item]:
    """The options of one directive of ``family``. Raises InvalidArgument (an option missing its value)."""
    return read_words(TABLES[family], words)


def options_of(family: str, words: list[str]) -> Options | None:
    """What one directive of ``family`` sets; None when it holds an option drmaa2 does not know. Raises
    InvalidArgument for a value it cannot read."""
    found: Options = {}
    for item in items(family, words):
        if item.spec is None:
            return None
        found.update(item.options())
    return found


def sbatch(words: list[str]) -> Options | None:
    return options_of("sbatch", words)


def qsub(words: list[str]) -> Options | None:
    return options_of("qsub", words)


def pbs(words: list[str]) -> Options | None:
    return options_of("pbs", words)

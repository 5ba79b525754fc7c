"""What a script's options mean on one backend, from the backend's own declarations (``Backend.script_family``,
``runs_here``, ``one_log``, ``refused_fields``): honoured, checked against what one machine (one pod, one
container) can give, bookkeeping that means nothing there (one warning; refused when strict), refused with the
script's name, line and reason -- or, on the scheduler that owns the family, passed to it unchanged."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArgument, UnsupportedAttribute
from .directives import BOOKKEEPING, CHECKED, HONOURED, OWN, Options, Spec
from .script import PREFIXES, Directive, JobScript

#: Turns bookkeeping into refusals (``[jobscripts] strict = true`` in the config file does the same).
STRICT_VARIABLE = "DRMAA2_STRICT"


@dataclass(frozen=True)
class Declared:
    """A backend's declarations that decide what a script's options mean there."""

    name: str
    family: str | None
    refused: frozenset[str]
    runs_here: bool
    one_log: bool
    sees_home: bool
    #: The drmaa2 home, whose config file may name local queues; None: none are looked for.
    home: Path | None = None


def declared(backend: str, home: Path | None = None) -> Declared:
    """The declarations of ``backend``'s class. Raises InvalidArgument (unknown), BackendUnavailable."""
    from ..backends import backend_class  # the registry: loads only this backend's module

    cls = backend_class(backend)
    refused = {*cls.refused_fields(), *(("error_path",) if cls.one_log else ())}
    return Declared(backend, cls.script_family, frozenset(refused), cls.runs_here, cls.one_log, cls.sees_home,
                    home)


def treatment(spec: Spec, d: Declared) -> str:
    """What the option ``spec`` is on the backend declared ``d`` (the docs' table)."""
    if d.family == spec.family and (spec.treatment != HONOURED or any(f in d.refused for f in spec.fields)):
        return OWN  # the scheduler's own, also where drmaa2 could not apply it (libdrmaa's -pe)
    if spec.treatment == HONOURED and any(f in d.refused for f in spec.fields):
        return spec.unmet
    return spec.treatment


def check(script: JobScript, options: Options, d: Declared,
          strict: Callable[[], bool]) -> tuple[list[str], list[str]]:
    """The native words for the owning scheduler and the notes for the person (one line naming the
    bookkeeping options, if any). ``options`` (the script's under the command line's) lose their requests
    ("_nodes" ...): what they ask for is checked here and turned into submit options (tasks x cpus). Raises
    UnsupportedAttribute naming the script, line and reason for what this backend cannot do."""
    native: list[str] = []
    bookkeeping: list[Directive] = []
    for directive, item in script.others:
        if PREFIXES[directive.prefix] == d.family:
            native.extend(item.words)
        elif item.spec is None:
            raise UnsupportedAttribute(f"{directive.describe(script.name)}: {item.flag} is not understood on the "
                                       f"{d.name} backend (what is: docs/jobscripts.md)")
        elif item.spec.treatment == BOOKKEEPING:
            if strict():
                raise UnsupportedAttribute(f"{directive.describe(script.name)}: {item.flag} has no meaning on the "
                                           f"{d.name} backend (refused: strict)")
            if directive not in bookkeeping:
                bookkeeping.append(directive)
    queue = options.get("queue")
    if "queue_name" in d.refused and "queue" in script.origin and queue in _local_queues(script, d):
        script.origin.pop("queue")  # a local queue of the config: the core honours it on every backend
    elif "queue_name" in d.refused and "queue" in script.origin and queue == script.options["queue"]:
        directive = script.origin.pop("queue")  # a partition where there are none: bookkeeping
        if strict():
            raise UnsupportedAttribute(f"{directive.describe(script.name)}: the {d.name} backend has no queues "
                                       "(refused: strict)")
        options["queue"] = None
        bookkeeping.append(directive)
    passed: list[Directive] = []
    for key, directive in list(script.origin.items()):
        field_name = FIELDS.get(key)
        if key == "export_all" and script.options.get(key) is False:
            continue  # --export=NONE: an empty environment asks nothing of the backend
        if key == "error_path" and options.get("join"):
            continue
        if field_name is not None and field_name in d.refused and PREFIXES[directive.prefix] == d.family:
            # What drmaa2 cannot apply here its own scheduler can: the directive reaches it unchanged.
            if directive not in passed:
                passed.append(directive)
                native.extend(directive.words)
            if options.get(key) == script.options.get(key):  # not the command line's
                options.pop(key, None)
            continue
        if field_name is not None and field_name in d.refused:
            raise UnsupportedAttribute(f"{directive.describe(script.name)}: the {d.name} backend cannot honour it "
                                       f"({field_name.replace('_', ' ')})")
    requests(script, options, d)
    notes = []
    if bookkeeping:
        lines = "; ".join(f"line {x.line} {x.prefix} {' '.join(x.words)}" for x in bookkeeping)
        notes.append(f"{script.name}: no meaning on the {d.name} backend, ignored: {lines}")
    return native, notes


#: Submit option -> the template field it sets.
FIELDS = {"cwd": "working_directory", "env": "job_environment", "variables": "job_environment",
          "export_all": "job_environment",
          "input_path": "input_path", "output_path": "output_path", "error_path": "error_path",
          "timeout": "timeout", "queue": "queue_name", "memory": "resource_limits", "cpus": "resource_limits"}


def requests(script: JobScript, options: Options, d: Declared) -> None:
    """Turn the requests into submit options (memory per cpu, tasks x cpus) and check them where the
    scheduler does not get them itself; records what the job's variables tell it (``_tasks``, ``_cpus``)."""
    nodes, tasks, gres = options.pop("_nodes", None), options.pop("_ntasks", None), options.pop("_gres", None)
    per_cpu, exclusive = options.pop("_mem_per_cpu", None), options.pop("_exclusive", None)
    cpus = _cores(options.get("cpus"))
    ntasks = _count(tasks, "tasks") if tasks else 1
    options["_cpus"], options["_tasks"] = cpus, ntasks
    if per_cpu and not options.get("memory"):
        options["memory"] = _times(per_cpu, cpus * ntasks)
    if script.family == d.family:
        return  # the scheduler reads --nodes, --ntasks, --gres itself
    where = script.origin
    if nodes and _count(nodes.partition("-")[0].partition(",")[0], "nodes") != 1:
        raise UnsupportedAttribute(f"{where['_nodes'].describe(script.name)}: asks for {nodes} nodes; a job of "
                                   f"the {d.name} backend runs on one machine")
    if ntasks > 1:
        options["cpus"] = str(cpus * ntasks)
    if d.runs_here and cpus * ntasks > (cores := os.cpu_count() or 1):
        origin = where.get("_ntasks") or where.get("cpus")
        said = f"{origin.describe(script.name)}: asks" if origin else f"{script.name}: the job asks"
        raise UnsupportedAttribute(f"{said} for {cpus * ntasks} cores ({ntasks} tasks x {cpus} cpus); "
                                   f"this machine has {cores}")
    if gres:
        _gpus(gres, script, d)
    if exclusive and d.runs_here:
        options["_cpus_on_node"] = os.cpu_count() or 1


def _gpus(gres: str, script: JobScript, d: Declared) -> None:
    """A GPU request is met where the job runs on this machine and it has one (the job sees every device)."""
    directive = script.origin["_gres"].describe(script.name)
    kinds = {part.partition(":")[0] for part in gres.split(",")}
    if not kinds <= {"gpu"} and not all(k.isdigit() for k in kinds):
        raise UnsupportedAttribute(f"{directive}: drmaa2 cannot give a job the generic resource {gres!r} here")
    if not d.runs_here:
        raise UnsupportedAttribute(f"{directive}: the {d.name} backend cannot give a job a GPU")
    if not glob.glob("/dev/nvidia[0-9]*") and not glob.glob("/dev/dri/renderD*"):
        raise UnsupportedAttribute(f"{directive}: this machine has no GPU")


def _count(text: str, what: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise InvalidArgument(f"{what}: expected a whole number from 1 up, not {text!r}")
    return int(text)


def _local_queues(script: JobScript, d: Declared) -> dict[str, int]:
    """The local queues of the config file (``[queues.NAME]``), which the core honours on every backend."""
    from ..config import CONFIG_FILE, load_config_file, local_queues

    if d.home is None:
        return {}
    path = d.home / CONFIG_FILE
    return local_queues(load_config_file(path).get("queues", {}), path)


def _cores(text: object) -> int:
    """Whole cores of a cpus option (1.5 is 2); 1 when absent or unreadable (the template refuses it then)."""
    import math

    try:
        return max(1, math.ceil(float(str(text)))) if text else 1
    except ValueError:
        return 1


def _times(size: str, n: int) -> str:
    from ..parsing import size_mib

    return f"{size_mib(size, '--mem-per-cpu') * n}m"


def strict(home: Path, environ: Mapping[str, str]) -> bool:
    """Whether bookkeeping options are refused: DRMAA2_STRICT=1, or ``[jobscripts] strict = true``."""
    if environ.get(STRICT_VARIABLE, "") not in ("", "0"):
        return True
    from ..config import CONFIG_FILE, load_config_file

    table = load_config_file(home / CONFIG_FILE).get("jobscripts", {})
    return bool(isinstance(table, dict) and table.get("strict"))


__all__ = ["BOOKKEEPING", "CHECKED", "Declared", "check", "declared", "strict", "treatment"]

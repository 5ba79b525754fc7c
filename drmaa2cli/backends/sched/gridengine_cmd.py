"""Pure functions between the Grid Engine backend and Grid Engine's commands: build qsub/qstat/qacct/qdel
command lines and parse their output. Tested on output saved from a real sge_qmaster
(tests/fixtures/gridengine/).

Native ids: "123" for a job, "123.4" for task 4 of array job 123 (Grid Engine's own notation).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ...errors import InvalidArgument, UnsupportedAttribute
from ...models import ArraySpec, JobState, JobTemplate
from . import NATIVE_ID
from .common import (
    TASK_MARK,
    After,
    Paths,
    check_after,
    check_array,
    describe_exit,
    local_time,
    native_options,
    resource_int,
    submitted_id,
    time_limit_seconds,
)

XML_TIME = "%Y-%m-%dT%H:%M:%S"
QACCT_TIME = "%a %b %d %H:%M:%S %Y"
DEFAULT_PE = "smp"

# Grid Engine replaces these in -o/-e/-i paths and offers no escape for them.
_PSEUDO_VARS = re.compile(r"\$(HOME|USER|JOB_ID|JOB_NAME|HOSTNAME|TASK_ID)")
_BAD_NAME = re.compile(r"[^A-Za-z0-9_.+-]")

#: qacct "failed" codes after which the job had run and was ended by a signal (its own, qdel's, or a limit's:
#: exit_status is then 128+N); every other non-zero code means it never started, for the reason printed
#: after the code.
RAN_FAILURES = {17: "ended by a signal", 37: "time or memory limit reached", 100: "killed"}


@dataclass(frozen=True)
class Record:
    """One job or array task as qstat or qacct reports it.

    ``state`` is qstat's letters ("qw", "hqw", "r", "s", "Eqw", "dr" ...) or "" for a qacct record;
    ``failed`` and ``exit_status`` come from qacct; times are epoch seconds or None.
    """

    native_id: str
    state: str = ""
    host: str = ""
    start: float | None = None
    end: float | None = None
    failed: int | None = None
    failed_reason: str = ""
    exit_status: int | None = None
    cpu_time: float | None = None
    max_rss: int | None = None


# --- submit ---------------------------------------------------------------------------------------------
def sge_path(path: str, array: bool = False) -> str:
    """A path for -o/-e/-i: TASK_MARK turned into $TASK_ID, NATIVE_ID into Grid Engine's own id ($JOB_ID;
    $JOB_ID.$TASK_ID for a task of an ``array``), a colon protected by an empty host prefix. Raises
    InvalidArgument for what qsub would misread (a comma, a pseudo variable such as $HOME)."""
    if "," in path:
        raise InvalidArgument(f"grid engine cannot use a path with a comma: {path!r}")
    if _PSEUDO_VARS.search(path):
        raise InvalidArgument(f"grid engine would expand the $ variable in path {path!r}")
    path = path.replace(TASK_MARK, "$TASK_ID").replace(NATIVE_ID, "$JOB_ID.$TASK_ID" if array else "$JOB_ID")
    return f":{path}" if ":" in path else path


def job_name(name: str) -> str:
    """A name qsub accepts: no "/", ":", "@", blanks ...; not starting with a digit."""
    name = _BAD_NAME.sub("_", name) or "job"
    return f"j{name}" if name[0].isdigit() else name


def build_submit_command(
    template: JobTemplate,
    paths: Paths,
    *,
    job_name: str,
    array: ArraySpec | None = None,
    after: After | None = None,
    parallel_environment: str = DEFAULT_PE,
) -> list[str]:
    """The qsub command line for ``template``; the job script goes to its stdin.

    ``after`` with mode "any" becomes -hold_jid (array tasks wait for their whole array job). Grid Engine
    has no "only after success": mode "ok" raises InvalidArgument (the core's runner does that instead).
    Raises InvalidArgument for settings Grid Engine cannot express.
    """
    cmd = ["qsub", "-terse", "-S", "/bin/sh", "-N", job_name, "-wd", paths.working_dir]
    cmd += ["-o", sge_path(paths.output, array is not None)]
    if paths.error is None:
        cmd += ["-j", "y"]
    else:
        cmd += ["-e", sge_path(paths.error, array is not None)]
    if paths.input is not None:
        cmd += ["-i", sge_path(paths.input)]
    if template.submit_as_hold:
        cmd.append("-h")
    if template.queue_name:
        cmd += ["-q", template.queue_name]
    if template.accounting_id:
        cmd += ["-A", template.accounting_id]
    if template.comment:
        # qsub splits -ac at commas (a list of context variables) and has no way to quote one.
        if "," in template.comment:
            raise InvalidArgument("grid engine cannot keep a comment with a comma (qsub -ac comment=...)")
        cmd += ["-ac", f"comment={template.comment}"]
    cmd += mail_options(template)
    limits = template.resource_limits
    if resource_int(limits, "disk_mb") is not None:
        raise UnsupportedAttribute("the gridengine backend cannot limit disk space",
                                   field="resource_limits.disk_mb")
    slots = resource_int(limits, "cpus") or 1
    if slots > 1:
        cmd += ["-pe", parallel_environment, str(slots)]
    requests = []
    seconds = time_limit_seconds(template.timeout)
    if seconds is not None:
        requests.append(f"h_rt={seconds}")
    memory = resource_int(limits, "memory_mb")
    if memory is not None:
        # h_vmem is per slot.
        requests.append(f"h_vmem={math.ceil(memory / slots)}M")
    if template.candidate_machines:
        requests.append("hostname=" + "|".join(template.candidate_machines))
    if template.min_phys_memory is not None:
        # mem_total's relation is <=: a request selects hosts with at least that much memory.
        requests.append(f"mem_total={template.min_phys_memory}K")
    if requests:
        cmd += ["-l", ",".join(requests)]
    if array is not None:
        check_array(array)
        if array.only is not None:
            raise InvalidArgument("grid engine arrays are one range FIRST-LAST[:STEP] (qsub -t), not a list")
        if array.first < 1:
            raise InvalidArgument("grid engine array indices start at 1")
        cmd += ["-t", f"{array.first}-{array.last}:{array.step}"]
        if array.max_parallel is not None:
            cmd += ["-tc", str(array.max_parallel)]
    if after is not None:
        check_after(after)
        if after.mode == "ok":
            raise InvalidArgument("grid engine cannot wait for success only (-hold_jid waits for any end)")
        cmd += ["-hold_jid", ",".join(dict.fromkeys(base_id(n) for n in after.native_ids))]
    cmd.extend(native_options(template))
    return cmd


def parse_submit_output(text: str) -> str:
    """The job id printed by ``qsub -terse`` ("123", or "123.1-10:1" for an array -> "123").
    Raises InvalidArgument when there is none."""
    return submitted_id(text, ".", "qsub")


def task_native_id(native_id: str, index: int) -> str:
    return f"{native_id}.{index}"


def base_id(native_id: str) -> str:
    return native_id.split(".", 1)[0]


# --- observe --------------------------------------------------------------------------------------------
def build_status_command() -> list[str]:
    """One qstat call for all of this user's pending, running and suspended jobs."""
    return ["qstat", "-xml"]


def _task_ids(spec: str) -> list[int]:
    """qstat's task list: "3", "2-6:1", "1,4-6:2"."""
    out: list[int] = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part.strip())
        if m:
            lo, hi, step = int(m.group(1)), int(m.group(2) or m.group(1)), int(m.group(3) or 1)
            out.extend(range(lo, hi + 1, step))
    return out


def parse_qstat_xml(text: str) -> dict[str, Record]:
    """``qstat -xml`` -> records by native id ("123", "123.4"); a pending array's tasks each get one.
    Raises ValueError for output that is not qstat's XML."""
    root = ET.fromstring(text)
    records: dict[str, Record] = {}
    for item in root.iter("job_list"):
        number = item.findtext("JB_job_number", "").strip()
        if not number:
            continue
        queue = item.findtext("queue_name", "") or ""
        start = item.findtext("JAT_start_time")
        rec = Record(
            native_id=number,
            state=item.findtext("state", "").strip(),
            host=queue.partition("@")[2],
            start=local_time(start, XML_TIME) if start else None,
        )
        tasks = item.findtext("tasks")
        if tasks:
            for index in _task_ids(tasks):
                native = task_native_id(number, index)
                records[native] = replace(rec, native_id=native)
        else:
            records[number] = rec
    return records


def build_accounting_command(native_id: str) -> list[str]:
    """qacct for one job (every task of an array job)."""
    return ["qacct", "-j", base_id(native_id)]


def parse_memory(text: str) -> float | None:
    """qacct's "4.492KB", "109.594MB", "0.000B" -> the number in units (1024-based)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)B?", text.strip())
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[m.group(2)]


def parse_qacct(text: str) -> dict[str, Record]:
    """``qacct -j`` -> records by native id ("123", "123.4" for array tasks)."""
    records: dict[str, Record] = {}
    for block in re.split(r"^=+\s*$", text, flags=re.M):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            if key:
                fields[key] = value.strip()
        number = fields.get("jobnumber", "")
        if not number.isdigit():
            continue
        task = fields.get("taskid", "undefined")
        native = task_native_id(number, int(task)) if task.isdigit() else number
        failed_text = fields.get("failed", "0")
        code, _, reason = failed_text.partition(":")
        exit_text = fields.get("exit_status", "").split()
        cpu = fields.get("cpu", "").rstrip("s")
        # qacct prints ru_maxrss (KiB) as if it were bytes: "107.816KB" is 110403 KiB.
        rss = parse_memory(fields.get("ru_maxrss", ""))
        records[native] = Record(
            native_id=native,
            host=fields.get("hostname", ""),
            start=local_time(fields.get("start_time", ""), QACCT_TIME),
            end=local_time(fields.get("end_time", ""), QACCT_TIME),
            failed=int(code) if code.strip().isdigit() else None,
            failed_reason=reason.strip(),
            exit_status=int(exit_text[0]) if exit_text and exit_text[0].isdigit() else None,
            cpu_time=float(cpu) if re.fullmatch(r"\d+(?:\.\d+)?", cpu) else None,
            max_rss=round(rss) if rss is not None else None,
        )
    return records


def parse_error_reasons(text: str) -> dict[str, str]:
    """``qstat -j ID`` text -> {"ID" or "ID.task": reason} from its "error reason" lines."""
    reasons: dict[str, str] = {}
    number = ""
    for line in text.splitlines():
        if line.startswith("job_number:"):
            number = line.split(":", 1)[1].strip()
        m = re.match(r"error reason\s+(\d+):\s+(.*)", line)
        if m and number:
            why = m.group(2)
            why = why.split("]: ", 1)[1] if "]: " in why else why
            why = why.removeprefix("error: ")
            reasons[number] = reasons.get(number) or why
            reasons[task_native_id(number, int(m.group(1)))] = why
    return reasons


def job_changes(rec: Record) -> dict[str, Any]:
    """What a qstat (active) or qacct (ended) record says about a job, as ``JobInfo`` fields."""
    if rec.state:
        return _active_changes(rec)
    changes: dict[str, Any] = {"finish_time": rec.end}
    code = rec.failed or 0
    if code == 0 or code in RAN_FAILURES:
        changes["dispatch_time"] = rec.start
        changes["machine"] = rec.host or None
        changes["cpu_time"] = rec.cpu_time
        changes["max_rss"] = rec.max_rss
    if code == 0:
        status = rec.exit_status
        changes["state"] = JobState.DONE if status == 0 else JobState.FAILED
        changes["exit_status"] = status
        # A job that died by a signal has failed=100 (below); here exit 137 really is "exit 137".
        changes["annotation"] = describe_exit(status, None)
        return changes
    changes["state"] = JobState.FAILED
    if code in RAN_FAILURES:
        status = rec.exit_status
        sig = status - 128 if status is not None and status > 128 else None
        changes["exit_status"] = None if sig is not None else status
        changes["signal"] = sig
        # failed=100 ("assumedly after job") says nothing beyond the signal itself.
        why = None if code == 100 else rec.failed_reason or RAN_FAILURES[code]
        parts = [why, describe_exit(changes["exit_status"], sig)]
        changes["annotation"] = "; ".join(p for p in parts if p)
        return changes
    changes["exit_status"] = None
    changes["annotation"] = f"could not start: {rec.failed_reason or f'grid engine failure {code}'}"
    return changes


def _active_changes(rec: Record) -> dict[str, Any]:
    letters = rec.state
    if "E" in letters:
        # The caller deletes such a job and reports it failed with qstat -j's error reason.
        return {"state": JobState.FAILED, "annotation": "could not start (error state)"}
    changes: dict[str, Any] = {}
    # A running job that is suspended shows "s" (by qmod -sj), "S" (its queue) or "T" (a threshold),
    # without the "r".
    suspended = "q" not in letters and any(c in letters for c in "sST")
    if suspended or "r" in letters or "t" in letters:
        changes["state"] = JobState.SUSPENDED if suspended else JobState.RUNNING
        changes["dispatch_time"] = rec.start
        changes["machine"] = rec.host or None
    elif "R" in letters:
        changes["state"] = JobState.REQUEUED_HELD if "h" in letters else JobState.REQUEUED
    elif "h" in letters:
        changes["state"] = JobState.QUEUED_HELD
    else:
        changes["state"] = JobState.QUEUED
    return changes


def is_error(rec: Record) -> bool:
    return "E" in rec.state


# --- control --------------------------------------------------------------------------------------------
def build_delete_command(native_ids: Iterable[str]) -> list[str]:
    return ["qdel", *native_ids]


CONTROL = {
    "hold": ["qhold"],
    "release": ["qrls"],
    "suspend": ["qmod", "-sj"],
    "resume": ["qmod", "-usj"],
}


def build_control_command(action: str, native_id: str) -> list[str]:
    """qhold / qrls / qmod -sj / qmod -usj for one job or task ("123.4")."""
    return [*CONTROL[action], native_id]


#: ``--mail-type``'s words as qsub -m letters: b (begin), e (end: any end, as sbatch's END), a (abort: Grid
#: Engine's nearest to FAIL -- it mails for a job deleted or aborted, not for a non-zero exit, which is an "e").
MAIL_LETTERS = {"BEGIN": "b", "END": "e", "FAIL": "a"}


def mail_options(template: JobTemplate) -> list[str]:
    """qsub's own mail options (``-m bea``, ``-M ADDR,...``) for ``--mail-type``/``--mail-user``; none when no
    mail is asked for. Grid Engine's mailer sends the mail."""
    if not template.mail_types:
        return []
    words = ["-m", "".join(MAIL_LETTERS[t] for t in template.mail_types)]
    return words + (["-M", ",".join(template.email)] if template.email else [])

"""What a job template asks of notifications, and who does it (``Backend.notifies``): the platform's own mail
("mail": the schedulers'), the backend's own process that sees the job begin and end ("events": the process
shepherd spawns ``fire``), or else a watcher process (``watch.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidArgument
from ..models import JobInfo, JobTemplate
from . import fire

if TYPE_CHECKING:
    from ..backends.base import Backend

#: ``--mail-type``'s words (sbatch's): what each one asks for.
MAIL_TYPES = ("BEGIN", "END", "FAIL", "ALL", "NONE")
#: The notification log, in the drmaa2 home: what a hook or a mail could not do.
LOG_NAME = "notify.log"


def mail_types(text: str, flag: str = "--mail-type") -> list[str]:
    """``END,FAIL`` as a list of BEGIN, END, FAIL (ALL: all three; NONE: none). Raises InvalidArgument."""
    words = [w.strip().upper() for w in text.split(",")]
    unknown = [w for w in words if w not in MAIL_TYPES]
    if unknown or not text.strip():
        raise InvalidArgument(f"{flag}: {unknown[0] if unknown else text!r} is not one of "
                              f"{', '.join(MAIL_TYPES)} (a comma list, as sbatch's)")
    if "NONE" in words:
        return []
    if "ALL" in words:
        return ["BEGIN", "END", "FAIL"]
    return [w for w in ("BEGIN", "END", "FAIL") if w in words]


#: sbatch's other ``--mail-type`` words (Slurm 22.05), which have no counterpart off Slurm.
SLURM_ONLY = ("REQUEUE", "INVALID_DEPEND", "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80",
              "TIME_LIMIT_50", "ARRAY_TASKS")


def sbatch_mail_types(text: str, flag: str = "--mail-type") -> tuple[str, list[str]]:
    """An ``#SBATCH --mail-type`` value as drmaa2's ``--mail-type`` value, and the words of sbatch's that have
    no counterpart here (TIME_LIMIT_80, ARRAY_TASKS, ...: for a warning). Raises InvalidArgument for a word
    sbatch does not know either."""
    words = [w.strip().upper() for w in text.split(",") if w.strip()]
    left = [w for w in words if w in SLURM_ONLY]
    kept = [w for w in words if w not in SLURM_ONLY]
    mail_types(",".join(kept) or "NONE", flag)  # the check of the rest
    return ",".join(kept) or "NONE", left


#: qsub's and PBS's ``-m`` letters as ``--mail-type`` words: b begin, e end, a abort (the nearest to FAIL), n
#: none. Grid Engine's s (suspend) and PBS's j (each subjob of an array) have no counterpart: None.
LETTERS = {"b": "BEGIN", "e": "END", "a": "FAIL", "n": "NONE", "s": None, "j": None}


def mail_letters(text: str, flag: str = "-m") -> tuple[str, list[str]]:
    """qsub's or PBS's ``-m`` letters (``ea``, ``bea``, ``n``) as a ``--mail-type`` value, and the letters
    that have no counterpart here (s, j: for a warning). Raises InvalidArgument for any other letter."""
    unknown = sorted(set(text) - set(LETTERS))
    if unknown or not text:
        raise InvalidArgument(f"{flag} {text}: mail options are letters of {''.join(LETTERS)} (b begin, e end, "
                              "a abort, n none)")
    words = [w for c in text if (w := LETTERS[c]) is not None]
    left = [c for c in text if LETTERS[c] is None]
    return ("NONE" if "NONE" in words or not words else ",".join(dict.fromkeys(words))), left


def addresses(text: str, flag: str = "--mail-user") -> list[str]:
    """``a@b,c`` as a list of addresses (a bare name is a local user). Raises InvalidArgument."""
    found = [a.strip() for a in text.split(",") if a.strip()]
    bad = next((a for a in found if any(c.isspace() or c in "<>\"'\\;" for c in a)), None)
    if not found or bad is not None:
        raise InvalidArgument(f"{flag}: {bad or text!r} is not a mail address (user or user@host, "
                              "comma-separated)")
    return found


def wants_mail(template: JobTemplate) -> bool:
    return bool(template.mail_types)


def watcher_orders(template: JobTemplate, backend: type[Backend], home: Path,
                   timeout: float | None = None) -> dict[str, str] | None:
    """The orders (``fire.ORDER_KEYS``) of the part of ``template``'s notifications that ``backend`` does not
    do itself, or None when there is nothing left for a watcher."""
    if "events" in backend.notifies:
        return None
    mail = wants_mail(template) and "mail" not in backend.notifies
    command = template.notify_command
    if not mail and not command:
        return None
    return orders(template, home, timeout, mail=mail, command=command)


def orders(template: JobTemplate, home: Path, timeout: float | None = None, *, mail: bool = True,
           command: str | None = None) -> dict[str, str]:
    """The orders for ``fire`` of ``template`` (mail and hook; ``command``: the hook's, default the template's)."""
    return {
        "log": str(home / LOG_NAME),
        "types": ",".join(template.mail_types),
        "mail": "1" if mail and wants_mail(template) else "",
        "to": ",".join(template.email),
        "command": command if command is not None else template.notify_command or "",
        "timeout": "" if timeout is None else f"{timeout:g}",
    }


def variables(job: JobInfo, event: str) -> dict[str, str]:
    """The job's variables at ``event`` ("begin", "end", "fail"), as a hook sees them. A begin is the start,
    whatever was seen: a watcher that first looks at a job after it has ended (a short job, a busy machine)
    still says "running" for its begin, as the process shepherd does, and keeps the end's figures for the end."""
    number, _, task = job.id.partition(".")
    begin = event == "begin"
    out = {"DRMAA2_EVENT": event, "DRMAA2_JOB_ID": number, "DRMAA2_SESSION": job.session,
           "DRMAA2_BACKEND": job.backend, "DRMAA2_JOB_STATE": "running" if begin else job.state.value}
    optional = {"DRMAA2_TASK_ID": task, "DRMAA2_JOB_NAME": job.name or "",
                "DRMAA2_ANNOTATION": "" if begin else job.annotation or "",
                "DRMAA2_EXIT_STATUS": "" if begin or job.exit_status is None else str(job.exit_status),
                "DRMAA2_SIGNAL": "" if begin or job.signal is None else str(job.signal)}
    out.update({k: v for k, v in optional.items() if v})
    return out


def submit_warning(template: JobTemplate, backend: type[Backend], environ: Mapping[str, str]) -> str | None:
    """The warning line for a job that asks for mail that drmaa2 would send on a machine without sendmail."""
    if not wants_mail(template) or "mail" in backend.notifies or fire.sendmail_path(dict(environ)) is not None:
        return None
    return ("no mail will be sent for --mail-type: this machine has no sendmail (/usr/sbin/sendmail); "
            "--notify hooks still run")

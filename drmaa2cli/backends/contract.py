"""The cases of the one contract every backend keeps, and how a backend declares what it refuses.

Each case is a behaviour a user can rely on whatever ``--backend`` says; ``tests/conformance`` runs every case
against every backend. A backend that cannot honour a case says so in one place, its class attribute
``refuses`` (case -> ``Refusal``), and the suite then checks the refusal instead: the command fails with the
documented exit code and one line on stderr. The README's "Backend contract" table is generated from these
declarations (``python -m drmaa2cli.docgen``), so the documentation and the code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import ExitStatus


@dataclass(frozen=True)
class Refusal:
    """Why a backend does not honour a contract case. ``code`` is the exit status the command that asks for it
    fails with; ``None`` means the case is honoured only in part (the job runs, ``why`` says what differs)."""

    why: str
    code: ExitStatus | None = None


#: Case name -> what a user may rely on (the README table's first column).
CASES: dict[str, str] = {
    "exit-status": "exit 0 / exit 3 / killed by a signal: state, exit status, signal, annotation; `wait` exits "
    "with the job's code (128+N for signal N)",
    "command-not-found": "a command that does not exist: failed, exit status 127, `wait` exits 127",
    "arguments": "arguments reach the job byte for byte, through no shell",
    "output-bytes": "stdout and stderr come back byte for byte (not UTF-8 too) from `logs`",
    "output-files": "`--output`/`--error` files at the paths asked, placeholders `%j %A %a %% $DRMAA2_INDEX$` "
    "filled, mode 0600",
    "after": "`--after A` starts the job exactly once, after A is done; if A failed, the job ends failed "
    "without starting (`wait` exits 207)",
    "kill": "`kill`: a job that dies on SIGTERM ends with signal 15 (`wait` 143); one that ignores it ends by "
    "SIGKILL after the grace period (`wait` 137), its annotation naming SIGKILL",
    "timeout": "`--timeout` ends the job as `kill` does, failed, annotated \"timed out after Ns\", within seconds "
    "of its limit (the suite allows 20 s on a loaded machine)",
    "hold": "`hold`/`release` of a queued job and of a whole array (running tasks are skipped)",
    "suspend": "`suspend`/`resume` of a running job and of a whole array (queued tasks are skipped)",
    "kill-suspended": "`kill` of a suspended job sends the signal, then lets it continue (SIGCONT, as Slurm and "
    "Grid Engine do): its TERM trap runs and its own exit code is reported; a plain job ends by SIGTERM (`wait` "
    "143)",
    "control-at-once": "`kill`, `hold`, `release` issued right after `submit` (CLI) or `run_job` (Python) "
    "take effect",
    "times": "submission ≤ dispatch ≤ finish time",
    "machines": "`machines` lists the platform's execution hosts (name, cores, memory, OS, architecture), "
    "`jobs` the platform's jobs with drmaa2's marked",
    "queues": "`queues` lists where jobs can be submitted (partitions, cluster queues, the space; for "
    "processes and containers only the config's local queues)",
    "run-stdin": "`run` passes its standard input to the job (data piped into `drmaa2 run -- cat` comes out), "
    "and the job's stdout and stderr come back on run's own",
    "run-interrupt": "Ctrl-C (SIGINT) on `run` stops its job as `kill` does, says which job on stderr and exits "
    "130; the job does not keep running",
    "containment": "a job's background and `setsid` children are gone within seconds of its end and of `kill`",
    "accounting": "`cpu_time` and `max_rss` of a job that burns ~2.5 s of CPU and touches 200 MiB are within 10 % "
    "of the truth",
    "environment": "`-v 'A=1,B=x\\,y'` (qsub's list, `\\,` a comma), `-V` (the whole environment) and "
    "`--export NONE` (only the given variables and DRMAA2_JOB_ID, DRMAA2_SESSION; a script's job also its "
    "scheduler's SLURM_JOB_ID...)",
    "array-list": "`--array 0,2-3%2` (as sbatch writes it): tasks N.0, N.2, N.3 only, index 0 allowed",
    "job-script": "`submit script.sh` of an sbatch-style and a qsub-style script: the same names, output files "
    "(`%x %A %a`, `$JOB_ID`), array with throttle, time limit, dependency, environment and exit codes; a "
    "directive the backend cannot honour is refused naming its line",
    "slots": "`--queue NAME` of a local queue (`[queues.NAME] slots = N` in the config): at most N of its jobs "
    "run at once; the others stay `queued`, annotated \"waiting for a slot\"",
    "priority": "`--priority N`: among the jobs waiting for a slot, higher starts first (then submission order)",
    "begin": "`--begin TIME` (`+10m`, `08:00`, `2026-12-01T08:00`): the job stays `queued`, annotated \"waiting "
    "until …\", and starts no earlier",
    "deadline": "`--deadline TIME` (formats of `--begin`): the job is ended at that time as by `--timeout`, "
    "annotated \"timed out\"; a deadline already past is refused (201)",
    "alter": "`alter ID --name/--priority/--begin/--timeout/--after` changes a job that has not started yet; "
    "once it has started, `alter` is refused with one line (exit 205)",
    "alter-waiting": "`alter` works on every job not started, whoever holds it back: held (`--hold`), waiting "
    "`--after` another, waiting for a slot, waiting for its start time; a new start time, run-time limit or "
    "dependencies of a job its platform holds re-submit it under the same id (held again if it was); `alter ID` "
    "with nothing to change is a usage error (201)",
    "session-slots": "`[sessions.NAME] slots = N` in the config: at most N jobs of the session run at once; the "
    "others stay `queued`, annotated \"waiting for a slot\"",
    "requeue": "`requeue ID` runs an ended job again under its id (a running one is killed first): `attempt` "
    "counts up, `attempts` keeps each ended attempt's exit status and times; a job not started is refused (205)",
    "retries": "`--retries N [--retry-delay D]`: a failed job runs again up to N times, no sooner than D after "
    "its end; `wait` exits with the last attempt's code, the annotation says how many attempts ran; `kill` "
    "ends it for good",
    "image-missing": "`--image` of an image that does not exist: refused at once (201, one line naming it), no "
    "record",
    "killed-log": "`logs` of a job ended by `kill` holds exactly what the job wrote (its TERM trap's last words "
    "included), nothing of the platform's own",
    "rejected": "a job the platform rejects (`--queue` of a queue it does not have): refused at once (201, one "
    "line), no record",
    "notify": "`--notify CMD` runs CMD through `sh -c` on the submitting machine once when the job begins and "
    "once when it ends, with `DRMAA2_EVENT`, `DRMAA2_JOB_ID`, `DRMAA2_JOB_STATE`, `DRMAA2_EXIT_STATUS` set; with "
    "`--mail-type END` only at the end",
}

#: The declaration of every backend whose jobs run in no image (processes, scheduler jobs, an app's tasks).
NO_IMAGES: Mapping[str, Refusal] = {
    "image-missing": Refusal("its jobs run in no image: `--image` is refused", ExitStatus.USAGE),
}


def check(refuses: Mapping[str, Refusal], owner: str) -> None:
    """Fail loudly at import time on a refusal of a case that does not exist (a typo would hide a gap)."""
    unknown = set(refuses) - set(CASES)
    if unknown:
        raise ValueError(f"{owner}: unknown contract case(s) {', '.join(sorted(unknown))}")


def modes_table(backends: Iterable[tuple[str, Mapping[str, Mapping[str, str]]]]) -> str:
    """The README's table of containment modes, under the contract's: one row per mode a backend declares
    (``Backend.containment_modes``) saying when it is in force and what it gives; "" when none declares one."""
    rows = ["| containment mode | in force | a job's process tree | accounting (`cpu_time`, `max_rss`) | "
            "`--memory`, `--cpus` |", "|---|---|---|---|---|"]
    found = False
    for name, modes in backends:
        for mode, gives in modes.items():
            found = True
            rows.append(f"| **{name}: {mode}** | {gives['when']} | {gives['tree']} | {gives['accounting']} | "
                        f"{gives['limits']} |")
    return "\n".join(rows) + "\n" if found else ""


def table(backends: Iterable[tuple[str, Mapping[str, Refusal]]]) -> str:
    """The README's contract table: one row per case, one column per backend, refusals as footnotes."""
    backends = list(backends)
    notes: list[str] = []
    rows = ["| case | " + " | ".join(name for name, _ in backends) + " |",
            "|---|" + "---|" * len(backends)]
    for case, text in CASES.items():
        cells = []
        for name, refuses in backends:
            refusal = refuses.get(case)
            if refusal is None:
                cells.append("yes")
                continue
            notes.append(f"{name}, {case}: {refusal.why}")
            mark = f"[{len(notes)}]"
            cells.append(f"refused, {int(refusal.code)} {mark}" if refusal.code is not None else f"partly {mark}")
        rows.append(f"| **{case}**: {text} | " + " | ".join(cells) + " |")
    return "\n".join(rows + [""] + [f"[{i}] {note}  " for i, note in enumerate(notes, 1)]).rstrip() + "\n"

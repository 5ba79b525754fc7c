"""A corpus of job scripts written the way HPC centres' user guides print them (sbatch, qsub and PBS), each run
unchanged on every backend. What a script needs and what it must leave behind is written at its end, in comments
after its first command (so they are no directives):

    # given: input_1.txt = apple          a file the test writes beside the script first (\\n: a new line)
    # submit: --after {sb_chain_first.sh} more submit options; {NAME} is the id of corpus script NAME, run first
    # expect: exit 3                      the job's exit code (an array's highest)
    # expect: refused ~ TEXT              submit refuses with exit 201 and one line holding TEXT (after the
                                          warning naming the bookkeeping directives, if any)
    # expect: file NAME ~ LINE            drmaa2 made file NAME (0600) and LINE is one of its lines ("" : exists)
    # expect: made NAME ~ LINE            the script wrote NAME, LINE is one of its lines
    # expect: stderr ~ TEXT               submit's standard error holds TEXT, on one line
    # expect (slurm): refused ~ TEXT      on the named backends (a comma list) instead of the lines above

A backend's own lines replace the general ones of their kind (a refusal all of them): what the script's own
scheduler says of a directive that it gets unchanged there (an account it does not know, a feature no node has).
The bookkeeping warnings (``stderr``) are drmaa2's off the family's own scheduler only: on it the directive
reaches the scheduler.

In NAME, LINE and TEXT: {job} is drmaa2's job id, {own} the job's number in the scheduler's default file names
(drmaa2's off its own scheduler, the scheduler's there: slurm-{own}.out), {dir} the submit directory, {home}
$HOME, {slurm_job} and {slurm_array} what SLURM_JOB_ID and SLURM_ARRAY_JOB_ID hold, {ge_job} what JOB_ID holds
(drmaa2's ids off their own scheduler, the scheduler's there).

``run`` submits one script and checks it; ``submit_all`` and ``check`` do the same for the whole corpus at once,
the jobs running side by side (one round trip to a scheduler for all of them, not one per script).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = sorted(p.name for p in HERE.glob("*.sh"))
#: Runs `drmaa2 ARGS` in a directory: (exit code, stdout, stderr).
Drmaa2 = Callable[[list[str], Path], tuple[int, str, str]]
#: The scheduler that owns each family's directives, per backend.
OWNERS = {"slurm": "sbatch", "gridengine": "qsub", "libdrmaa": "qsub"}


@dataclass
class Case:
    name: str
    given: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    exit: int | None = None
    refused: str | None = None
    files: list[tuple[str, str, bool]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def family(self) -> str:
        return "sbatch" if self.name.startswith("sb_") else "qsub" if self.name.startswith("ge_") else "pbs"

    @property
    def needs(self) -> list[str]:
        """The corpus scripts whose ids this one's submit options name."""
        return [w[1:-1] for w in self.options if w.startswith("{") and w.endswith("}")]


def load(name: str, backend: str | None = None) -> Case:
    """Corpus script ``name``'s case, as on ``backend`` (its own ``expect (BACKEND)`` lines in force)."""
    case = Case(name)
    general: list[tuple[str, str, str]] = []
    own: list[tuple[str, str, str]] = []
    for line in (HERE / name).read_text().splitlines():
        kind, _, rest = line.partition(": ")
        if kind == "# given":
            key, _, value = rest.partition(" = ")
            case.given[key] = value.replace("\\n", "\n") + "\n"
        elif kind == "# submit":
            case.options += rest.split()
        elif kind.startswith("# expect"):
            where = kind.removeprefix("# expect").strip()
            what, _, text = rest.partition(" ~ ") if " ~ " in rest else (rest.rstrip(" ~"), "", "")
            word, _, arg = what.partition(" ")
            if not where:
                general.append((word, arg, text))
            elif backend in where.strip("()").split(","):
                own.append((word, arg, text))
    kinds = {word for word, _, _ in own}
    expected = own if "refused" in kinds else [e for e in general if e[0] not in kinds] + own
    for word, arg, text in expected:
        if word == "exit":
            case.exit = int(arg)
        elif word == "refused":
            case.refused = text
        elif word in ("file", "made"):
            case.files.append((arg, text, word == "file"))
        elif word == "stderr" and OWNERS.get(backend or "") != case.family:
            case.stderr.append(text)
    return case


@dataclass
class Submitted:
    """What ``submit`` said for a case: its exit code, the job id (its output) and its standard error."""

    case: Case
    code: int
    job: str
    err: str


def prepare(workdir: Path, names: list[str]) -> None:
    """Copy the scripts ``names`` into ``workdir`` with the files they are given."""
    for name in names:
        (workdir / name).write_bytes((HERE / name).read_bytes())
        for key, value in load(name).given.items():
            (workdir / key).write_text(value)


def submit(case: Case, workdir: Path, drmaa2: Drmaa2, options: list[str], ids: Mapping[str, str]) -> Submitted:
    """Submit ``case`` from ``workdir``; ``ids`` holds the job ids of the corpus scripts it names."""
    extra = [ids[w[1:-1]] if w.startswith("{") and w.endswith("}") else w for w in case.options]
    code, out, err = drmaa2(["submit", "--terse", *options, *extra, case.name], workdir)
    return Submitted(case, code, out.strip(), err)


#: Submits at once: most of a submit is waiting (for a scheduler, an engine, a library to load).
SUBMITTERS = 4


def submit_all(workdir: Path, drmaa2: Drmaa2, options: list[str], backend: str,
               names: list[str] = NAMES) -> dict[str, Submitted]:
    """Copy and submit every script of ``names``, a few submits at a time (a script another names first),
    none waited for."""
    from concurrent.futures import ThreadPoolExecutor
    from functools import partial

    prepare(workdir, names)
    cases = {name: load(name, backend) for name in names}
    missing = {n for case in cases.values() for n in case.needs} - set(names)
    assert not missing, f"the corpus run lacks {missing}, which other scripts need"
    done: dict[str, Submitted] = {}
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        for rank in (False, True):  # the scripts others need first, then the ones that need them
            batch = [n for n in names if bool(cases[n].needs) is rank]
            one = partial(submit, workdir=workdir, drmaa2=drmaa2, options=options,
                          ids={name: sub.job for name, sub in done.items()})
            done.update(zip(batch, pool.map(one, [cases[n] for n in batch]), strict=True))
    return {name: done[name] for name in names}


def check(sub: Submitted, exit_code: int | None, values: Mapping[str, str], workdir: Path) -> list[str]:
    """What is wrong with ``sub`` once its job ended with ``exit_code``: one line per problem, none if right.
    ``values`` fills the placeholders ({job}, {own}, {dir}, ...)."""
    case, problems = sub.case, []
    if case.refused is not None:
        *before, last = sub.err.strip().splitlines() or [""]
        # One line says why; before it, only the warning naming the bookkeeping directives.
        if sub.code != 201 or case.refused not in last or any("ignored" not in line for line in before):
            problems.append(f"not refused with {case.refused!r}: exit {sub.code}, {sub.err.strip()!r}")
        return problems
    if sub.code != 0:
        return [f"submit failed: exit {sub.code}, {sub.err.strip()!r}"]
    lines = sub.err.splitlines()
    for text in case.stderr:
        if [line for line in lines if "ignored" in line] != [line for line in lines if text in line]:
            problems.append(f"standard error without {text!r} on one line: {sub.err.strip()!r}")
    if exit_code != case.exit:
        problems.append(f"exit code {exit_code}, not {case.exit}")
    for path, line, private in case.files:
        file = workdir / path.format(**values)
        if not file.exists():
            problems.append(f"no file {file} ({sorted(os.listdir(file.parent))})")
            continue
        if line and line.format(**values) not in file.read_text().splitlines():
            problems.append(f"{file.name} has no line {line.format(**values)!r}: {file.read_text()!r}")
        if private and stat.S_IMODE(file.stat().st_mode) != 0o600:
            problems.append(f"{file.name} is {stat.S_IMODE(file.stat().st_mode):o}, not 600")
    return problems


def run(name: str, workdir: Path, drmaa2: Drmaa2, options: list[str], wait: Callable[[str], int],
        ids: Callable[[str, str], dict[str, str]], home: str, backend: str = "process") -> None:
    """Submit corpus script ``name`` from ``workdir`` with ``options`` (the backend's), check what it expects.
    ``ids(job, family)`` gives the values of {own}, {slurm_job}, {slurm_array}, {ge_job} for the job; ``home``
    is the $HOME drmaa2 runs with."""
    case = load(name, backend)
    prepare(workdir, [name, *case.needs])
    before = {needed: submit(load(needed, backend), workdir, drmaa2, options, {}).job for needed in case.needs}
    sub = submit(case, workdir, drmaa2, options, before)
    code = wait(sub.job) if sub.code == 0 and case.refused is None else None
    values = {"job": sub.job, "dir": str(workdir), "home": home}
    if code is not None:
        values.update(ids(sub.job, case.family))
    values.setdefault("own", sub.job)
    problems = check(sub, code, values, workdir)
    assert not problems, (name, problems)

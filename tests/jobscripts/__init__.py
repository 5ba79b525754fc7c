"""A corpus of job scripts written the way HPC centres' user guides print them (sbatch, qsub and PBS), each run
unchanged. What a script needs and what it must leave behind is written at its end, in comments after its
first command (so they are no directives):

    # given: input_1.txt = apple          a file the test writes beside the script first (\\n: a new line)
    # submit: --after {sb_chain_first.sh} more submit options; {NAME} is the id of corpus script NAME, run first
    # expect: exit 3                      the job's exit code (`drmaa2 wait`; an array's highest)
    # expect: refused ~ TEXT              submit refuses with exit 201 and one line holding TEXT
    # expect: file NAME ~ LINE            drmaa2 made file NAME (0600) and LINE is one of its lines ("" : exists)
    # expect: made NAME ~ LINE            the script wrote NAME, LINE is one of its lines
    # expect: stderr ~ TEXT               submit's standard error holds TEXT, on one line

In NAME, LINE and TEXT: {job} is drmaa2's job id, {dir} the submit directory, {home} $HOME, {slurm_job} and
{slurm_array} what SLURM_JOB_ID and SLURM_ARRAY_JOB_ID hold, {ge_job} what JOB_ID holds (drmaa2's ids off their
own scheduler, the scheduler's there).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = sorted(p.name for p in HERE.glob("*.sh"))
#: Runs `drmaa2 ARGS` in a directory: (exit code, stdout, stderr).
Drmaa2 = Callable[[list[str], Path], tuple[int, str, str]]


@dataclass
class Case:
    name: str
    given: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    exit: int | None = None
    refused: str | None = None
    files: list[tuple[str, str, bool]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


def load(name: str) -> Case:
    case = Case(name)
    for line in (HERE / name).read_text().splitlines():
        kind, _, rest = line.partition(": ")
        if kind == "# given":
            key, _, value = rest.partition(" = ")
            case.given[key] = value.replace("\\n", "\n") + "\n"
        elif kind == "# submit":
            case.options += rest.split()
        elif kind == "# expect":
            what, _, text = rest.partition(" ~ ") if " ~ " in rest else (rest.rstrip(" ~"), "", "")
            word, _, arg = what.partition(" ")
            if word == "exit":
                case.exit = int(arg)
            elif word == "refused":
                case.refused = text
            elif word in ("file", "made"):
                case.files.append((arg, text, word == "file"))
            elif word == "stderr":
                case.stderr.append(text)
    return case


def run(name: str, workdir: Path, drmaa2: Drmaa2, options: list[str], wait: Callable[[str], int],
        ids: Callable[[str, str], dict[str, str]], home: str) -> None:
    """Submit corpus script ``name`` from ``workdir`` with ``options`` (the backend's), check what it expects.
    ``ids(job, family)`` gives the values of {slurm_job}, {slurm_array}, {ge_job} for the job; ``home`` is the
    $HOME drmaa2 runs with."""
    case = load(name)
    (workdir / name).write_bytes((HERE / name).read_bytes())
    for key, value in case.given.items():
        (workdir / key).write_text(value)
    extra = []
    for word in case.options:
        if word.startswith("{") and word.endswith("}"):
            (workdir / word[1:-1]).write_bytes((HERE / word[1:-1]).read_bytes())
            code, out, err = drmaa2(["submit", "--terse", *options, word[1:-1]], workdir)
            assert code == 0, err
            word = out.strip()
        extra.append(word)
    code, out, err = drmaa2(["submit", "--terse", *options, *extra, name], workdir)
    if case.refused is not None:
        assert code == 201, (code, err)
        assert err.count("\n") == 1 and case.refused in err, err
        return
    assert code == 0, err
    job = out.strip()
    for text in case.stderr:
        assert [line for line in err.splitlines() if "ignored" in line] == [line for line in err.splitlines()
                                                                            if text in line], err
    assert wait(job) == case.exit, name
    family = "sbatch" if name.startswith("sb_") else "qsub" if name.startswith("ge_") else "pbs"
    values = {"job": job, "dir": str(workdir), "home": home, **ids(job, family)}
    for path, line, private in case.files:
        file = workdir / path.format(**values)
        assert file.exists(), (name, file, sorted(os.listdir(workdir)))
        if line:
            assert line.format(**values) in file.read_text().splitlines(), (name, file.read_text())
        if private:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, (name, file)

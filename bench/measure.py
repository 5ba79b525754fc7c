"""Timing commands as a shell would see them: wall-clock time and the CPU time of the child.

The machine may be shared, so repetitions of the cases being compared are interleaved (round-robin, order rotated
each round): a burst of load then hits all of them alike instead of one case. Medians are reported with the
minimum and maximum; CPU time (user + system of the command itself) is kept beside wall time because it is far
less sensitive to other processes competing for the cores.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Stats:
    """Median, minimum and maximum of repeated measurements (milliseconds unless said otherwise)."""

    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def text(self, unit: str = "ms", digits: int = 1) -> str:
        """``57.3 ms (52.1–80.4)``; a single measurement has no range."""
        if self.n == 1:
            return f"{self.median:.{digits}f} {unit}"
        return f"{self.median:.{digits}f} {unit} ({self.min:.{digits}f}–{self.max:.{digits}f})"

    def to_json(self) -> dict[str, Any]:
        return {"median": round(self.median, 3), "min": round(self.min, 3), "max": round(self.max, 3), "n": self.n}


#: The exit status recorded for a run killed at its case's timeout (no real exit status is negative but
#: those of signals, and a killed run's is replaced by this).
TIMED_OUT = -1000


@dataclass
class Run:
    """One run of a command."""

    wall_ms: float
    cpu_ms: float
    code: int
    out: bytes
    err: bytes


def run(argv: Sequence[str], env: Mapping[str, str], timeout: float = 600, stdout: Path | None = None) -> Run:
    """Run ``argv`` to completion, stdout and stderr captured; CPU time is what this child (and any child it
    waited for) used. Detached grandchildren (a job's supervisor) are not counted: they are not the command's
    cost as the caller waits for it. With ``stdout`` the output goes to that file (truncated first) instead
    of through a pipe to this process: a command printing megabytes is then not slowed by our reading."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        if stdout is None:
            proc = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        else:
            with open(stdout, "wb") as sink:
                proc = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=sink,
                                      stderr=subprocess.PIPE, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        # subprocess.run has killed and reaped it: a run that says so, not an error of the whole target.
        return Run((time.perf_counter() - start) * 1000, 0.0, TIMED_OUT, b"",
                   f"drmaa2 bench: timed out after {timeout:g} s (killed)".encode())
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return Run(wall, cpu, proc.returncode, proc.stdout or b"", proc.stderr)


@dataclass
class Case:
    """A command measured repeatedly. ``before`` runs ahead of each measured run, untimed (to reset state);
    ``expect`` is the exit status a correct run gives; ``stdout`` is the file its output goes to (see ``run``);
    ``check`` looks at a run that exited as expected and returns why it is wrong anyway (then it is not
    counted), or None. A run taking longer than ``timeout`` seconds is killed and counted as failed, and the
    case is not run again: a command that slow says what it has to say once."""

    label: str
    argv: list[str]
    env: dict[str, str]
    expect: int = 0
    before: Callable[[], None] | None = None
    stdout: Path | None = None
    check: Callable[[Run], str | None] | None = None
    timeout: float = 600
    runs: list[Run] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def wall(self) -> Stats | None:
        good = [r.wall_ms for r in self.runs if r.code == self.expect]
        return Stats.of(good) if good else None

    def cpu(self) -> Stats | None:
        good = [r.cpu_ms for r in self.runs if r.code == self.expect]
        return Stats.of(good) if good else None


def measure(cases: Sequence[Case], repeat: int, warmup: int = 1) -> None:
    """Run every case ``warmup`` times untimed (page cache, compiled bytecode, servers started), then ``repeat``
    rounds in which each case runs once, the order rotated every round. A run whose exit status is not the
    expected one is kept out of the figures and noted."""
    if not cases:
        return
    for case in cases:
        for _ in range(warmup):
            if case.before:
                case.before()
            result = run(case.argv, case.env, case.timeout, case.stdout)
            if result.code == TIMED_OUT:
                case.runs.append(result)
                case.errors.append(reason(result.err) + " in its warm-up run")
    for round_no in range(repeat):
        shift = round_no % len(cases)
        for case in [*cases[shift:], *cases[:shift]]:
            if any(r.code == TIMED_OUT for r in case.runs):
                continue
            if case.before:
                case.before()
            result = run(case.argv, case.env, case.timeout, case.stdout)
            case.runs.append(result)
            if result.code == TIMED_OUT:
                case.errors.insert(0, reason(result.err))
            elif result.code != case.expect and len(case.errors) < 3:
                case.errors.append(f"exit {result.code}: {reason(result.err)}")
            elif result.code == case.expect and case.check and (wrong := case.check(result)) is not None:
                result.code = -1
                if len(case.errors) < 3:
                    case.errors.append(wrong)


def reason(stderr: bytes) -> str:
    """The line of an error output that says what went wrong: the first naming an error (docker puts a usage
    hint last), else the last one (a Python traceback ends with the exception)."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return next((line for line in lines if "rror" in line or line.startswith("drmaa2:")), lines[-1] if lines
                else "(no message)")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without drmaa2 settings and without PYTHON* variables (a development
    shell's PYTHONUNBUFFERED or PYTHONDONTWRITEBYTECODE would change what is measured), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRMAA2_", "PYTHON"))}
    env.update(extra)
    return env

"""What every target gets (``Context``) and gives back (``Result`` made of ``Row`` s)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .measure import Case, Stats, clean_env, measure
from .peers import Peer


@dataclass
class Sizes:
    """How much to do: the full run, or the smoke run of the test suite (``--smoke``)."""

    repeat: int = 15
    histories: tuple[int, ...] = (1000, 10000, 100000)
    array_tasks: int = 1000
    array_repeat: int = 3
    sleepers: int = 100
    submitters: int = 64
    jobs_each: int = 20
    latency_repeat: int = 10
    # Round two (targets 9-15).
    output_bytes: int = 23_000_000
    output_repeat: int = 5
    big_history: int = 1_000_000
    rm_history: int = 100_000
    rm_repeat: int = 3
    big_array_tasks: int = 10_000
    backend_repeat: int = 10
    smoke: bool = False

    @classmethod
    def for_smoke(cls) -> Sizes:
        return cls(repeat=1, histories=(10, 100), array_tasks=10, array_repeat=1, sleepers=3, submitters=4,
                   jobs_each=2, latency_repeat=1, output_bytes=100_000, output_repeat=1, big_history=1000,
                   rm_history=100, rm_repeat=1, big_array_tasks=20, backend_repeat=1, smoke=True)


@dataclass
class Context:
    """The command under test, the interpreter it runs on (its bare start is the floor), a scratch directory
    and the peers found."""

    drmaa2: list[str]
    python: str
    work: Path
    sizes: Sizes
    peers: dict[str, Peer]
    docker_image: str | None = None
    #: Measurements two targets share (target 11 judges target 8's flood when both run), by name.
    shared: dict[str, Any] = field(default_factory=dict)
    _homes: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def home(self, label: str) -> Path:
        """A fresh drmaa2 home under the scratch directory."""
        path = self.work / f"home-{next(self._homes):02d}-{label}"
        path.mkdir(parents=True, mode=0o700)
        return path

    def env(self, home: Path) -> dict[str, str]:
        return clean_env(DRMAA2_HOME=str(home))

    def cli(self, *args: str) -> list[str]:
        return [*self.drmaa2, *args]

    def floor(self) -> Case:
        """The bare interpreter start: the unit start-up targets are expressed in."""
        return Case("`python -c pass` (floor)", [self.python, "-c", "pass"], clean_env())

    def call(self, home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run drmaa2 untimed (set-up, checks); raises if it fails."""
        return subprocess.run(self.cli(*args), env=self.env(home), capture_output=True, text=True,
                              timeout=timeout, check=True)

    def measure(self, cases: Sequence[Case], repeat: int | None = None) -> None:
        measure(cases, self.sizes.repeat if repeat is None else repeat, warmup=0 if self.sizes.smoke else 1)

    def cleanup(self) -> None:
        # Jobs that just ended may still be writing their records: a pass can leave a directory behind.
        for _ in range(5):
            shutil.rmtree(self.work, ignore_errors=True)
            if not self.work.exists():
                return
            time.sleep(0.5)


@dataclass
class Row:
    """One line of a target's table: a timed case, or a figure that is not a time (``value``)."""

    label: str
    wall: Stats | None = None
    cpu: Stats | None = None
    value: str | None = None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    #: Runs that failed (a wrong exit status, a time-out, a failed check): kept out of the figures, and a
    #: target with any is not met (``judged``).
    failed: int = 0

    @classmethod
    def of(cls, case: Case, note: str = "") -> Row:
        errors = case.errors[0] if case.errors else ""  # the first says why; the others mostly repeat it
        failed = sum(1 for r in case.runs if r.code != case.expect)
        if case.wall() is None:
            return cls(case.label, note=f"failed: {errors or 'no successful run'}", failed=max(failed, 1))
        note = note or (f"{failed} of {len(case.runs)} runs failed: {errors}" if failed else "")
        return cls(case.label, case.wall(), case.cpu(), note=note, failed=failed)

    @classmethod
    def missing_peer(cls, label: str, peer: Peer) -> Row:
        return cls(label, note=f"{peer.name} not available (see Peers)")

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "wall_ms": self.wall.to_json() if self.wall else None,
            "cpu_ms": self.cpu.to_json() if self.cpu else None,
            "value": self.value,
            "note": self.note or None,
            "failed_runs": self.failed,
            **({"data": self.data} if self.data else {}),
        }


MET, NOT_MET, UNAVAILABLE, ERROR = "met", "not met", "not available", "error"
#: The first target of the second round (issue #21); 1-8 are the first round's.
ROUND_TWO = 9
#: The first of the third round (issue #28): 16-20 and 23 here; 21 and 22 are the test suite's own time.
ROUND_THREE = 16


@dataclass
class Result:
    """A target's outcome: its rows, the headline figure compared with the target, and the verdict."""

    number: int
    what: str
    target: str
    rows: list[Row] = field(default_factory=list)
    measured: str = "–"
    verdict: str = ERROR
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "what": self.what, "target": self.target, "measured": self.measured,
                "verdict": self.verdict, "note": self.note or None, "rows": [r.to_json() for r in self.rows]}


def judged(result: Result) -> Result:
    """``result`` with its failed runs counted: a target that met its figure with runs that failed is not met
    (the medians leave failed runs out, which must not hide them)."""
    failed = sum(r.failed for r in result.rows)
    if failed and result.verdict == MET:
        result.verdict = NOT_MET
        result.note = "; ".join(filter(None, [result.note, f"{failed} failed run(s): see the rows"]))
    return result


def ratio(case: Stats | None, floor: Stats | None) -> float | None:
    """Median over median, None when either is missing."""
    if case is None or floor is None or floor.median <= 0:
        return None
    return case.median / floor.median


def judge_ratio(result: Result, mine: Stats | None, theirs: Stats | None, limit: float, seconds: bool) -> None:
    """Set ``result``'s figure and verdict from the ratio of two medians (``ratio``) against ``limit``; the
    medians are shown in seconds or milliseconds. Left as it is when either case has no successful run."""
    r = ratio(mine, theirs)
    if r is None or mine is None or theirs is None:
        return
    shown = (f"{mine.median / 1000:.2f} s vs {theirs.median / 1000:.2f} s" if seconds
             else f"{mine.median:.0f} ms vs {theirs.median:.0f} ms")
    result.measured = f"{r:.2f}× ({shown})"
    result.verdict = MET if r <= limit else NOT_MET

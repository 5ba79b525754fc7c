"""The stress and fault suite's scale, and the closing summary of its figures.

``DRMAA2_STRESS=full`` runs the full scale of issue 9 (64 submitters x 20 jobs, 500 kills, thousands of fuzzed
calls); anything else runs a smaller scale that fits in the normal ``scripts/test`` run. Every test records
what it did (runs, kills, faults injected, inputs tried, records lost) in its ``figures`` (conftest.py), which
travel in the test's report; the totals are printed at the end of the run and, with
``DRMAA2_STRESS_FIGURES=PATH``, written there as JSON.

A pytest plugin, listed in tests/conftest.py: with pytest-xdist the summary is printed by the process that gathers
the reports, which does not collect the tests and so never loads this folder's conftest.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Scale:
    """How hard each test pushes. ``full`` is the scale the issue asks for."""

    name: str
    submitters: int  # concurrent submitting processes ...
    jobs_each: int  # ... each submitting this many jobs one after the other
    observers: int  # concurrent status, wait and kill callers (each)
    kills: int  # kill -9 of drmaa2 processes at random moments
    crash_workers: int  # commands under fire at the same time
    fuzz_examples: int  # hypothesis examples per fuzz test
    supervision_jobs: int  # jobs whose supervisors all die at once
    cf_submitters: int  # concurrent cf submits sharing one expired login


SMALL = Scale("small", submitters=8, jobs_each=4, observers=1, kills=40, crash_workers=2, fuzz_examples=40,
              supervision_jobs=6, cf_submitters=4)
FULL = Scale("full", submitters=64, jobs_each=20, observers=2, kills=500, crash_workers=3, fuzz_examples=1500,
             supervision_jobs=40, cf_submitters=16)


def current_scale() -> Scale:
    return FULL if os.environ.get("DRMAA2_STRESS", "").lower() == "full" else SMALL


#: The key of a test's figures in its report's user properties.
FIGURES_KEY = "stress figures"
_FIGURES: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == FIGURES_KEY:
            with _LOCK:
                _FIGURES[report.nodeid.split("::", 1)[-1]] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES or "PYTEST_XDIST_WORKER" in os.environ:  # a worker's figures are the controller's to show
        return
    scale = current_scale()
    terminalreporter.section(f"stress figures (scale {scale.name})")
    totals: dict[str, float] = {}
    for test, counts in sorted(_FIGURES.items()):
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in counts.items())
        terminalreporter.write_line(f"{test}: {shown}")
        for key, value in counts.items():
            if isinstance(value, int | float) and not key.startswith(("max_", "last_")):
                totals[key] = totals.get(key, 0) + value
    terminalreporter.write_line("totals: " + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(totals.items())))
    target = os.environ.get("DRMAA2_STRESS_FIGURES")
    if target:
        Path(target).write_text(
            json.dumps({"scale": asdict(scale), "tests": _FIGURES, "totals": totals}, indent=2) + "\n"
        )


def _fmt(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)

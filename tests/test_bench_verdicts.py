"""The benchmark can say "not met": a failed run is counted and makes its target not met, whatever the
medians of the runs that succeeded say."""

from __future__ import annotations

from bench.measure import Case, Run
from bench.model import MET, NOT_MET, Result, Row, judged


def _case(codes: list[int]) -> Case:
    case = Case("drmaa2 submit true", ["true"], {})
    case.runs = [Run(10.0, 5.0, code, b"", b"") for code in codes]
    if any(codes):
        case.errors.append("exit 1: boom")
    return case


def test_a_failed_run_is_counted_and_the_target_is_not_met() -> None:
    row = Row.of(_case([0, 1, 0]))
    assert row.failed == 1 and row.wall is not None and row.wall.median == 10.0
    assert "1 of 3 runs failed" in row.note and row.to_json()["failed_runs"] == 1
    result = judged(Result(1, "what", "≤ 8x", rows=[row], measured="4.5x", verdict=MET))
    assert result.verdict == NOT_MET and "1 failed run" in result.note


def test_a_target_whose_runs_all_succeeded_keeps_its_verdict() -> None:
    row = Row.of(_case([0, 0]))
    assert row.failed == 0
    assert judged(Result(1, "what", "≤ 8x", rows=[row], verdict=MET)).verdict == MET


def test_a_case_with_no_successful_run_counts_as_failed() -> None:
    row = Row.of(_case([1, 1]))
    assert row.wall is None and row.failed == 2 and row.note.startswith("failed:")

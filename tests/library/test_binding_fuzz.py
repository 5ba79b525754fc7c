"""Property-based (hypothesis, derandomised: CI sees the same cases every run): every field of the binding's
JobTemplate driven with values of every type. Whatever comes in, ``run_job`` and ``run_bulk_jobs`` either submit
or raise one of the binding's exceptions, never another; and the store still loads with every job submitted
before. The jobs that are submitted are held, ended at once and removed at the end: none ever runs.

Paths are kept inside the test's own directory (the process backend creates output files at submission)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import drmaa2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drmaa2cli.store import Store

FIELDS = drmaa2.JobTemplate.field_names()
PATH_FIELDS = ("input_path", "output_path", "error_path", "working_directory")
KEYS = [drmaa2.WALLCLOCK_TIME, drmaa2.VIRTUAL_MEMORY, drmaa2.CPU_TIME, "user", "pull", "native", "stdin", "A",
        "A=B", ""]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8),
    st.datetimes(min_value=datetime(1, 1, 2), timezones=st.none() | st.just(UTC)), st.timedeltas(),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4) | st.integers(), SCALARS, max_size=3),
    st.sampled_from(list(drmaa2.OperatingSystem)),
)
#: A path inside the test's directory, or one that is not there: never a file of the machine's own.
PATHLIKE = st.text(alphabet=st.characters(blacklist_characters="/"), max_size=8) | st.sampled_from(
    ["", ".", "/nonexistent/dir/x", "%A/x", "x.%a", "$DRMAA2_INDEX$"])


def kept_inside(value: Any, base: Path) -> Any:
    """A path field's string, moved below ``base`` (absolute ones that cannot exist stay as they are)."""
    if isinstance(value, str) and not value.startswith("/nonexistent/"):
        return str(base / value) if value not in ("", ".") else value
    return value


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    """A few fields of a held job's template, each given a value of any type."""
    fields: dict[str, Any] = {"remote_command": "true", "submit_as_hold": True}
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True)):
        value = draw(PATHLIKE | VALUES if name in PATH_FIELDS else VALUES)
        if name == "submit_as_hold" and value in (None, False):
            value = True  # a job that would run: the fuzz never starts one
        fields[name] = value
    return fields


@pytest.fixture
def binding_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key in [k for k in os.environ if k.startswith("DRMAA2_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DRMAA2_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "home"


def test_every_template_field_with_values_of_every_type(binding_home: Path) -> None:
    session = drmaa2.create_job_session("fuzz", contact="process")
    submitted: list[str] = []
    tried: dict[str, int] = {"submitted": 0, "refused": 0}

    @settings(derandomize=True, database=None, max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(fields=templates(), bulk=st.integers(0, 9))
    def one(fields: dict[str, Any], bulk: int) -> None:
        for name in PATH_FIELDS:
            if name in fields:
                fields[name] = kept_inside(fields[name], binding_home.parent)
        template = drmaa2.JobTemplate(**fields)
        try:
            jobs = session.run_bulk_jobs(template, 1, 2, 1).jobs if bulk == 0 else [session.run_job(template)]
        except drmaa2.DrmaaException as e:
            assert str(e) and "\n" not in str(e), repr(e)
            assert e.exit_status == 201, (fields, e, e.exit_status)  # a template's fault, said as the CLI says it
            tried["refused"] += 1
        else:
            tried["submitted"] += 1
            for job in jobs:
                assert job.get_state()[0] is drmaa2.JobState.QUEUED_HELD, fields
                job.terminate()
                submitted.append(job.job_id)
        snapshot = Store(binding_home).snapshot()
        assert set(snapshot.find_many(submitted)) == set(submitted)
        assert not (binding_home / "quarantine.json").exists()

    try:
        one()
    finally:
        for job in session.get_jobs():
            if job.get_state()[0] not in (drmaa2.JobState.DONE, drmaa2.JobState.FAILED):
                job.terminate()
    for job in session.get_jobs():
        job.wait_terminated(60)
        assert job.get_info().dispatch_time is None  # ended before it ever ran
        job.reap()
    # Both kinds of outcome were tried, or the fuzz is not testing what it says.
    assert tried["submitted"] >= 10 and tried["refused"] >= 100, tried


def test_the_other_calls_refuse_values_of_the_wrong_type(binding_home: Path) -> None:
    session = drmaa2.create_job_session("types", contact="process")
    job = session.run_job(drmaa2.JobTemplate(remote_command="true", submit_as_hold=True))
    template = drmaa2.JobTemplate(remote_command="true", submit_as_hold=True)
    calls: list[Callable[[], object]] = [
        lambda: drmaa2.create_job_session(5),  # type: ignore[arg-type]
        lambda: drmaa2.create_job_session("x", contact=5),  # type: ignore[arg-type]
        lambda: drmaa2.supports("JT_STAGING"),  # type: ignore[arg-type]
        lambda: drmaa2.supports(drmaa2.Capability.JT_STAGING, contact=["docker"]),  # type: ignore[arg-type]
        lambda: session.get_jobs(filter="queued"),  # type: ignore[arg-type]
        lambda: session.wait_any_terminated("1"),  # type: ignore[arg-type]
        lambda: session.wait_any_started([1]),  # type: ignore[list-item]
        lambda: session.run_bulk_jobs(template, "1", 2, 1),  # type: ignore[arg-type]
        lambda: session.run_bulk_jobs(template, 1, 2, 1, max_parallel=1.5),  # type: ignore[arg-type]
        lambda: session.run_job({"remote_command": "true"}),  # type: ignore[arg-type]
        lambda: job.wait_terminated("soon"),  # type: ignore[arg-type]
        lambda: job.wait_terminated(float("nan")),
        lambda: job.wait_started(float("inf")),
    ]
    try:
        for call in calls:
            with pytest.raises(drmaa2.InvalidArgumentException) as caught:
                call()
            assert "\n" not in str(caught.value) and caught.value.exit_status == 201
    finally:
        job.terminate()
    job.wait_terminated(60)
    assert [j.job_id for j in session.get_jobs()] == [job.job_id]  # nothing else was submitted

"""The one check of a job template (drmaa2cli.core.validate) that every entry gets before anything is written:
types, ranges, combinations, and the files of this machine a job would use, decided per backend."""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli import config
from drmaa2cli.backends import REGISTRY, backend_class
from drmaa2cli.commands import options
from drmaa2cli.core import validate
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import ArraySpec, JobTemplate
from drmaa2cli.service import Service
from drmaa2cli.store import Store

TRUE = JobTemplate(remote_command="true")
HOUR = 3600.0


@pytest.mark.parametrize(("changes", "words"), [
    ({"job_name": 5}, "job_name must be a string, not 5"),
    ({"remote_command": None}, "remote_command must be a string"),
    ({"args": "oops"}, "args must be a list of strings, not 'oops'"),
    ({"args": ["a", 1]}, "args must be a list of strings"),
    ({"args": ["a\0b"]}, "(a NUL character)"),
    ({"job_name": "\ud800"}, "(a character the file system cannot encode)"),
    ({"job_environment": {"A": 1}}, "job_environment must map strings to strings"),
    ({"job_environment": {"A=B": "1"}}, "invalid environment variable name 'A=B'"),
    ({"job_environment": {"": "1"}}, "job_environment must map strings to strings"),
    ({"stage_in_files": ["/a"]}, "stage_in_files must map strings to strings"),
    ({"submit_as_hold": "no"}, "submit_as_hold must be True or False, not 'no'"),
    ({"join_files": 1}, "join_files must be True or False"),
    ({"timeout": "5"}, "timeout must be a number of seconds"),
    ({"timeout": math.nan}, "timeout must be a number of seconds"),
    ({"timeout": 0}, "run-time limit (--timeout, wallclock time) must be positive"),
    ({"start_time": True}, "start_time must be a number of seconds"),
    ({"start_time": 1e20}, "is not a time between 1970 and 9999"),
    ({"priority": True}, "priority must be a whole number, not True"),
    ({"priority": 2.0}, "priority must be a whole number"),
    ({"priority": 1_000_001}, "priority must be between -1000000 and 1000000"),
    ({"retries": -1}, "retries must be between 0 and 1000"),
    ({"retry_delay": 5.0}, "--retry-delay needs --retries N"),
    ({"min_phys_memory": 0}, "min_phys_memory must be positive"),
    ({"resource_limits": {"memory_mb": 1.5}}, "resource limit memory_mb must be a positive whole number of MiB"),
    ({"resource_limits": {"cpus": -1}}, "resource limit cpus must be a positive number of CPUs"),
    ({"resource_limits": {"gpus": object()}}, "resource limit 'gpus' cannot be"),
    ({"resource_limits": []}, "resource_limits must be a dict with string keys"),
    ({"extension": {"pull": "yes"}}, "extension 'pull' cannot be 'yes'"),
    ({"extension": {"native": ["-x", 3]}}, "extension 'native' must be a list of strings"),
    ({"extension": {"other": {"deep": math.inf}}}, "extension 'other' cannot be"),
])
def test_a_malformed_template_is_refused_naming_the_field(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate.check_template(replace(TRUE, **changes))
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_well_formed_template_passes() -> None:
    now = time.time()
    validate.check_template(replace(
        TRUE, args=["a", "\udcff"], job_name="x", job_environment={"A": ""}, timeout=1.5, priority=-5, retries=3,
        retry_delay=0.0, start_time=now, deadline_time=now + HOUR, resource_limits={"memory_mb": 5, "cpus": 0.5},
        extension={"pull": True, "native": ["-x"], "other": [1, {"a": None}]}, min_phys_memory=1,
    ))


@pytest.mark.parametrize("deadline", [-HOUR, 0.0])
def test_a_begin_time_not_before_the_deadline_is_refused(deadline: float) -> None:
    begin = time.time() + HOUR
    with pytest.raises(InvalidArgument, match=r"begin time .* is not before its deadline .* it would never run"):
        validate.check_template(replace(TRUE, start_time=begin, deadline_time=begin + deadline))


def test_the_bounds_are_the_options_bounds() -> None:
    assert options.BY_PARAM["priority"].bounds == validate.PRIORITY_BOUNDS
    assert options.BY_PARAM["retries"].bounds == validate.RETRIES_BOUNDS


def test_which_files_are_this_machines_is_decided_per_backend() -> None:
    fields = {name: validate.local_fields(backend_class(name)) - set(backend_class(name).refused_fields())
              for name in REGISTRY}
    assert fields["process"] == {"remote_command", "working_directory", "input_path", "output_path", "error_path"}
    for name in ("docker", "podman", "kubernetes"):
        assert fields[name] == {"output_path", "error_path"}, name
    for name in ("cf", "slurm", "gridengine", "libdrmaa"):  # cf refuses output paths; the others' are remote
        assert fields[name] == set(), name


PROCESS = frozenset({"remote_command", "working_directory", "input_path", "output_path", "error_path"})


def test_a_command_given_as_a_path_must_exist_and_be_executable(tmp_path: Path) -> None:
    missing = replace(TRUE, remote_command="./missing.sh", working_directory=str(tmp_path))
    with pytest.raises(InvalidArgument, match=re.escape(f"command ./missing.sh does not exist (from {tmp_path})")):
        validate.check_files(missing, PROCESS)
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    with pytest.raises(InvalidArgument, match=r"command .*job.sh is not executable"):
        validate.check_files(replace(TRUE, remote_command=str(script)), PROCESS)
    with pytest.raises(InvalidArgument, match="is a directory"):
        validate.check_files(replace(TRUE, remote_command=str(tmp_path) + "/"), PROCESS)
    script.chmod(0o755)
    validate.check_files(replace(TRUE, remote_command="./job.sh", working_directory=str(tmp_path)), PROCESS)
    # A bare name is looked up on PATH when the job starts: a missing one fails then, with 127.
    validate.check_files(replace(TRUE, remote_command="drmaa2-no-such-command"), PROCESS)
    # Not this machine's: inside an image, or on a scheduler's execution host.
    validate.check_files(replace(TRUE, remote_command="./missing.sh"), frozenset({"output_path", "error_path"}))


def test_paths_of_this_machine(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "x.out"
    with pytest.raises(InvalidArgument, match=f"the directory for output file {missing} does not exist"):
        validate.check_files(replace(TRUE, error_path=str(missing)), PROCESS)
    with pytest.raises(InvalidArgument, match="is a directory"):
        validate.check_files(replace(TRUE, output_path=str(tmp_path)), PROCESS)
    with pytest.raises(InvalidArgument, match=r"input file .* does not exist"):
        validate.check_files(replace(TRUE, input_path=str(tmp_path / "in")), PROCESS)
    with pytest.raises(InvalidArgument, match=r"working directory .* does not exist"):
        validate.check_files(replace(TRUE, working_directory=str(tmp_path / "no")), PROCESS)
    # A directory per task can only be looked at once the task is there; a file name with one, its directory.
    validate.check_files(replace(TRUE, output_path=str(tmp_path / "%A" / "x")), PROCESS)
    validate.check_files(replace(TRUE, output_path=str(tmp_path / "x.%a")), PROCESS)
    validate.check_files(replace(TRUE, output_path=str(missing)), frozenset())
    # Joined: the error file is the output file, whatever error_path says.
    validate.check_files(replace(TRUE, join_files=True, error_path=str(missing)), PROCESS)


def test_what_this_user_may_not_use_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As an ordinary user (root passes every permission check: tests/cli/test_submit_checks.py runs the CLI
    without that privilege), by the answers access(2) gives."""
    denied = {str(tmp_path / "locked"), str(tmp_path / "ro.out"), str(tmp_path / "secret"), str(tmp_path / "cwd")}
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) not in denied)
    for name in ("locked", "cwd"):
        (tmp_path / name).mkdir()
    for name in ("ro.out", "secret"):
        (tmp_path / name).write_text("")
    cases = [
        ({"output_path": str(tmp_path / "locked" / "x.out")}, "cannot write output file .*: Permission denied"),
        ({"output_path": str(tmp_path / "ro.out")}, "cannot write output file .*ro.out: Permission denied"),
        ({"input_path": str(tmp_path / "secret")}, "cannot read input file .*: Permission denied"),
        ({"working_directory": str(tmp_path / "cwd")}, "cannot enter working directory .*: Permission denied"),
    ]
    for changes, words in cases:
        with pytest.raises(InvalidArgument, match=words):
            validate.check_files(replace(TRUE, **changes), PROCESS)


@pytest.mark.parametrize(("array", "words"), [
    (ArraySpec(0, 5), None),
    (ArraySpec(5, 1), "0 <= FIRST <= LAST"),
    (ArraySpec(1, 5, 0), "STEP >= 1"),
    (ArraySpec(-1, 5), "0 <= FIRST"),
    (ArraySpec(1, 200_000), "more than 100000 tasks"),
    (ArraySpec(1, 5, 1, -1), "MAXPARALLEL must be a whole number from 0"),
    (ArraySpec("1", 5), "whole numbers"),  # type: ignore[arg-type]
])
def test_arrays(array: ArraySpec, words: str | None) -> None:
    if words is None:
        validate.check_array(array)
        return
    with pytest.raises(InvalidArgument, match=words):
        validate.check_array(array)


def test_the_python_api_gets_the_check_and_nothing_is_written(tmp_path: Path) -> None:
    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(tmp_path / "home")}))
    bad = [replace(TRUE, job_name=5), replace(TRUE, job_environment={"A": 1}),  # type: ignore[arg-type]
           replace(TRUE, remote_command="./missing.sh", working_directory=str(tmp_path))]
    for template in bad:
        with pytest.raises(InvalidArgument):
            svc.submit(template)
    with pytest.raises(InvalidArgument, match="more than 100000 tasks"):
        svc.submit_jobs(TRUE, array=ArraySpec(1, 100_001))
    snapshot = Store(tmp_path / "home").snapshot()
    assert list(snapshot.live_records()) == []

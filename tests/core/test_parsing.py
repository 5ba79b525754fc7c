"""Option values in-process (``drmaa2cli.parsing``, ``drmaa2cli.when``): sizes, signals, environments, mounts,
id lists and points in time read as written, and anything else is one InvalidArgument naming the option.
(Durations, arrays and variable lists: tests/cli/test_job_scripts.py; ``--begin`` forms:
tests/process/test_queue_control.py.)"""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from drmaa2cli import parsing
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.when import local_text, point_in_time


@pytest.mark.parametrize(("text", "mib"), [("512", 512), ("512m", 512), ("1g", 1024), ("1.5G", 1536),
                                           ("2GiB", 2048), ("1t", 1024 * 1024), ("1k", 1), (" 64 MB ", 64)])
def test_sizes_in_mebibytes(text: str, mib: int) -> None:
    assert parsing.size_mib(text, "--memory") == mib


@pytest.mark.parametrize("text", ["0", "-1g", "1x", "g", "", "١٢"])
def test_bad_sizes_name_the_option(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^--memory: invalid size"):
        parsing.size_mib(text, "--memory")


def test_signals_by_name_or_number() -> None:
    assert {parsing.signal_number(t) for t in ("TERM", "SIGTERM", "term", " 15 ")} == {15}
    assert parsing.signal_number("kill") == 9
    for bad in ("0", "999", "NOPE", "SIG", ""):
        with pytest.raises(InvalidArgument, match="--signal: unknown signal"):
            parsing.signal_number(bad)


def test_positive_numbers() -> None:
    assert parsing.positive_float("0.25", "--every") == 0.25
    for bad in ("0", "-1", "nan", "x"):
        with pytest.raises(InvalidArgument, match=r"^--every: expected a positive number"):
            parsing.positive_float(bad, "--every")


def test_environment_pairs_and_names_taken_from_the_current_environment() -> None:
    got = parsing.environment(["A=1", "B=x=y", "C=", "HOME"], current={"HOME": "/h"})
    assert got == {"A": "1", "B": "x=y", "C": "", "HOME": "/h"}
    with pytest.raises(InvalidArgument, match=r"^-v: expected KEY=VALUE, got '1A=2'"):
        parsing.environment(["1A=2"], current={}, option="-v")
    with pytest.raises(InvalidArgument, match="--env: NOPE is not set in the current environment"):
        parsing.environment(["NOPE"], current={})


def test_mounts_become_absolute_on_the_host_side() -> None:
    got = parsing.mounts(["data:/data", "/etc/x:/x:ro", "/y:/y:rw"])
    assert got == {os.path.abspath("data"): "/data", "/etc/x": "/x:ro", "/y": "/y"}
    for bad in ("/a", "/a:rel", ":/b", "/a:/b:rx", "/a:/b:ro:x"):
        with pytest.raises(InvalidArgument, match=r"^--mount: expected SRC:DST"):
            parsing.mounts([bad])


def test_job_ids_from_repeated_options_and_comma_lists() -> None:
    assert parsing.job_ids(["3,4", " 5 ", "6,,", ""]) == ["3", "4", "5", "6"]


def test_a_point_in_time_reads_back_in_the_words_of_an_annotation() -> None:
    now = datetime(2026, 11, 29, 12, 0, 0).timestamp()
    assert local_text(point_in_time("2026-12-01 08:00:30", now=now)) == "2026-12-01 08:00:30"
    assert local_text(point_in_time("+1h30m", now=now)) == "2026-11-29 13:30:00"
    assert local_text(point_in_time("12:00", now=now)) == "2026-11-30 12:00:00"  # this very second: tomorrow
    with pytest.raises(InvalidArgument, match=r"^--start: invalid time 'soon' \(examples: "):
        point_in_time("soon", option="--start", now=now)
    with pytest.raises(InvalidArgument, match=r"^--start: invalid duration"):
        point_in_time("+soon", option="--start", now=now)

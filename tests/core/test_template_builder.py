"""The template builder in-process: each submit option's value lands in the template field its declaration
names, converted as declared (durations, sizes, paths), and a malformed value is one InvalidArgument."""

from __future__ import annotations

import os

import pytest

from drmaa2cli.commands import options
from drmaa2cli.commands.submitting import build_template
from drmaa2cli.errors import InvalidArgument


def _given(**values: object) -> dict[str, object]:
    # As `submit` hands them over: no --export-all is None (False is sbatch's --export=NONE).
    return {**options.DEFAULTS, "export_all": None, **values}


def test_export_none_cleans_the_environment_and_the_command_s_own() -> None:
    t = build_template(["sh", "-c", "true"], _given(export_all=False, env=["A=1"]))
    assert t.job_environment == {} and t.remote_command.endswith("sh")


def test_a_plain_command_is_the_template_s_command_and_arguments() -> None:
    t = build_template(["sh", "-c", "exit 3"], _given())
    assert (t.remote_command, t.args) == ("sh", ["-c", "exit 3"])
    assert (t.job_name, t.timeout, t.resource_limits, t.extension) == (None, None, {}, {})


def test_values_are_converted_as_their_declarations_say() -> None:
    t = build_template(["true"], _given(timeout="1h30m", memory="512m", cpus="1.5", name="n", hold=True,
                                        cwd="work", join=True, queue="fast", priority=3, retries=2,
                                        retry_delay="90s", comment="a note"))
    assert t.timeout == 5400 and t.resource_limits == {"memory_mb": 512, "cpus": 1.5}
    assert (t.job_name, t.submit_as_hold, t.join_files, t.queue_name) == ("n", True, True, "fast")
    assert (t.priority, t.retries, t.retry_delay, t.comment) == (3, 2, 90, "a note")
    assert t.working_directory == os.path.abspath("work")


def test_the_environment_is_exactly_what_was_given() -> None:
    t = build_template(["true"], _given(env=["A=1", "B= two words ", "C="]))
    assert t.job_environment == {"A": "1", "B": " two words ", "C": ""}


def test_native_options_keep_their_words() -> None:
    t = build_template(["true"], _given(native="-q 'a b' --x"))
    assert t.extension == {"native": ["-q", "a b", "--x"]}


@pytest.mark.parametrize(("option", "value"), [("timeout", "soon"), ("memory", "lots"), ("cpus", "-1"),
                                               ("env", ["=1"])])
def test_a_malformed_value_is_one_clear_error(option: str, value: object) -> None:
    with pytest.raises(InvalidArgument):
        build_template(["true"], _given(**{option: value}))

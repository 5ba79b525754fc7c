"""The submit options are declared once (drmaa2cli.commands.options): what is made from the declarations agrees
with them, and an option added as one declaration (--comment) reaches the job, status, --json and the schedulers'
command lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from drmaa2cli.backends import REGISTRY, backend_class
from drmaa2cli.backends.sched import common, gridengine_cmd, slurm_cmd
from drmaa2cli.cli import quick
from drmaa2cli.cli.app import command_for
from drmaa2cli.commands import options, refusals, submitting
from drmaa2cli.commands._common import parse_directive
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import JobTemplate
from tests.conftest import Cli

PATHS = common.Paths(working_dir="/w", output="/o/1.out", error="/o/1.err")


@pytest.mark.parametrize("name", ["submit", "run"])
def test_the_commands_take_exactly_the_declared_options(name: str) -> None:
    group = command_for([name])
    assert isinstance(group, typer.core.TyperGroup)
    params = [p for p in group.commands[name].params if p.name != "command"]
    declared = [(o.param, o.flags, o.help) for o in options.SUBMIT]
    assert [(p.name, tuple(p.opts), p.help) for p in params] == declared
    assert {p.name: p.default for p in params} == {o.param: o.default for o in options.SUBMIT}


def test_the_fast_table_and_the_refusal_words_are_the_declarations() -> None:
    assert {f: (o.param, o.kind) for o in options.SUBMIT for f in o.flags} == quick.OPTIONS
    assert quick.RANGES == {"priority": (-1_000_000, 1_000_000), "retries": (0, 1000)}
    assert refusals.option_for("resource_limits", {"cpus": "2"}) is options.BY_PARAM["cpus"]
    assert refusals.option_for("resource_limits", {}) is None
    assert refusals.option_for("job_category", {"app": "w"}) is options.BY_PARAM["app"]
    assert refusals.option_for("job_category", {}) is options.BY_PARAM["category"]
    assert refusals.option_for("comment", {}) is options.BY_PARAM["comment"]


def test_every_field_an_option_declares_is_filled_by_the_builder() -> None:
    given: dict[str, Any] = {"native_words": None}
    for o in options.SUBMIT:
        given[o.param] = {"flag": True, "many": [], "int": 3}.get(o.kind, "x")
    given |= {"cwd": "/w", "timeout": "5", "begin": "+1m", "deadline": "+2m", "retry_delay": "1",
              "memory": "1g", "cpus": "2", "disk": "2g", "mount": ["/a:/b"], "env": ["A=1"], "variables": ["B=2"],
              "export_all": None, "image": "img", "app": "ap", "category": "cat", "native": "-x y",
              "mail_type": "end"}
    t = submitting.build_template(["echo", "hi"], given)
    empty = JobTemplate()
    for o in options.SUBMIT:
        if o.field is None:
            continue
        field, _, key = o.field.partition(".")
        value = getattr(t, field)
        if field in ("resource_limits", "extension"):
            assert key in value, o.param
        else:
            assert value != getattr(empty, field), o.param
    assert (t.job_category, t.resource_limits, t.extension["native"]) == (
        "cat", {"memory_mb": 1024, "cpus": 2.0, "disk_mb": 2048}, ["-x", "y"])
    assert (t.comment, t.argv, t.job_environment) == ("x", ["echo", "hi"], {"A": "1", "B": "2"})
    assert submitting.build_template(["true"], {"image": "img", "app": "ap"}).job_category == "img"


def test_the_backends_declare_what_they_honour() -> None:
    assert refusals.owners("--memory") == ("process", "docker", "podman", "cf", "slurm", "gridengine",
                                           "kubernetes")
    assert refusals.owners("--cpus") == ("process", "docker", "podman", "slurm", "gridengine", "kubernetes")
    assert refusals.owners("--disk") == ("cf", "slurm")
    assert refusals.owners("--image") == ("docker", "podman", "kubernetes")
    assert refusals.owners("--app") == ("cf",)
    assert refusals.owners("--comment") == tuple(REGISTRY)
    for name in REGISTRY:
        cls = backend_class(name)
        assert (cls.category is None) == ("job_category" in cls.refused_fields()), name
        assert cls.limits <= {"memory_mb", "cpus", "disk_mb"}, name


def test_a_directive_reads_the_comment_and_refuses_dash_dash() -> None:
    assert parse_directive(["--comment", "nightly run", "-N", "n"]) == {"comment": "nightly run", "name": "n"}
    with pytest.raises(InvalidArgument, match="--comment needs a value before `--`"):
        submitting.refuse_dash_dash(parse_directive(["--comment", "--"]))


def test_slurm_gets_the_comment_as_one_word() -> None:
    t = JobTemplate(remote_command="x", comment="a 'b'; $(c) d,e")
    argv = slurm_cmd.build_submit_command(t, PATHS, job_name="n")
    assert "--comment=a 'b'; $(c) d,e" in argv
    assert not any("comment" in a for a in slurm_cmd.build_submit_command(JobTemplate(remote_command="x"),
                                                                         PATHS, job_name="n"))


def test_grid_engine_gets_the_comment_as_a_context_variable() -> None:
    t = JobTemplate(remote_command="x", comment="a 'b'; $(c) d=e")
    argv = gridengine_cmd.build_submit_command(t, PATHS, job_name="n")
    i = argv.index("-ac")
    assert argv[i + 1] == "comment=a 'b'; $(c) d=e"
    with pytest.raises(InvalidArgument, match="comma"):
        gridengine_cmd.build_submit_command(JobTemplate(remote_command="x", comment="a,b"), PATHS, job_name="n")


def test_the_comment_is_kept_and_shown(cli: Cli, tmp_path: Path) -> None:
    job = cli.submit("true", options=["--comment", "nightly: run 7"])
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\n#DRMAA2 --comment 'from the script'\ntrue\n")
    r = cli("submit", "--terse", str(script))
    assert r.code == 0, r.err
    scripted = r.out.strip()
    assert cli("wait", job, scripted).code == 0
    shown = cli("status", job)
    assert shown.code == 0, shown.err
    assert ["comment", "nightly: run 7"] in [line.split(None, 1) for line in shown.out.splitlines()], shown.out
    document = cli("status", "--json", job, scripted).json()
    assert [j["comment"] for j in document["jobs"]] == ["nightly: run 7", "from the script"]
    assert all(j["annotation"] != j["comment"] for j in document["jobs"])

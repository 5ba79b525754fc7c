"""DRMAA2 CandidateMachines, MinPhysMemory and AccountingID: the schedulers' command lines, and every other
backend refusing them by name (the opt-in fields of backends/base.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli import config
from drmaa2cli.backends import REGISTRY, BackendContext, backend_class
from drmaa2cli.backends.base import OPT_IN_FIELDS
from drmaa2cli.backends.sched import common
from drmaa2cli.backends.sched import gridengine_cmd as ge
from drmaa2cli.backends.sched import slurm_cmd as slurm
from drmaa2cli.errors import InvalidArgument, UnsupportedAttribute
from drmaa2cli.models import JobTemplate
from drmaa2cli.service import Service

PATHS = common.Paths(working_dir="/w", output="/o/1.out", error="/o/1.err")
PLACED = JobTemplate(remote_command="x", candidate_machines=["n1", "n2"], min_phys_memory=2 * 1024 * 1024,
                     accounting_id="proj1")


def test_slurm_places_charges_and_sizes() -> None:
    argv = slurm.build_submit_command(PLACED, PATHS, job_name="n", nodes=["n1", "n2", "n3", "n4"])
    assert {"--account=proj1", "--exclude=n3,n4", "--mem=2048M"} <= set(argv)
    one = JobTemplate(remote_command="x", candidate_machines=["n1"], min_phys_memory=1024,
                      resource_limits={"memory_mb": 4096})
    argv = slurm.build_submit_command(one, PATHS, job_name="n")
    assert "--nodelist=n1" in argv and "--mem=4096M" in argv  # the larger of the two memory asks
    assert not any(a.startswith("--exclude") for a in slurm.build_submit_command(PLACED, PATHS, job_name="n",
                                                                                  nodes=["n1", "n2"]))
    with pytest.raises(InvalidArgument, match="none of the candidate machines"):
        slurm.build_submit_command(PLACED, PATHS, job_name="n", nodes=["n3"])


def test_grid_engine_places_charges_and_sizes() -> None:
    argv = ge.build_submit_command(PLACED, PATHS, job_name="n")
    assert argv[argv.index("-A") + 1] == "proj1"
    assert argv[argv.index("-l") + 1] == f"hostname=n1|n2,mem_total={2 * 1024 * 1024}K"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_backends_that_do_not_honour_them_refuse_them(name: str, tmp_path: Path) -> None:
    backend = backend_class(name)(BackendContext(tmp_path))
    asks = (("candidate_machines", ["n1"]), ("min_phys_memory", 1024), ("accounting_id", "p"),
            ("stage_out_files", {"/h": "/j"}))
    for field, value in asks:
        template = JobTemplate(remote_command="true", **{field: value})  # type: ignore[arg-type]
        if field in backend.honours:
            backend.check_template(template)
        else:
            with pytest.raises(UnsupportedAttribute, match=f"cannot honour {field.replace('_', ' ')}$"):
                backend.check_template(template)
    assert set(backend.honours) <= set(OPT_IN_FIELDS)


def test_docker_says_which_stage_out_file_it_could_not_copy(docker_target: dict[str, Any], tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}, **docker_target["env"],
           "DRMAA2_HOME": str(tmp_path / "home")}
    service = Service(config.resolve({"backend": "docker"}, env), env)
    image = docker_target["options"][docker_target["options"].index("--image") + 1]
    staged = tmp_path / "got"
    job = service.submit(JobTemplate(remote_command="true", job_category=image,
                                     stage_out_files={str(staged): "/no/such/file", str(tmp_path / "x"): "/tmp"}))
    (done,) = service.wait([job.id], timeout=120)
    assert done.state.value == "done" and done.annotation is not None
    assert "not staged out: /no/such/file does not exist; /tmp is not a file" in done.annotation
    assert not staged.exists()
    with pytest.raises(InvalidArgument, match="both paths must be absolute"):
        service.submit(JobTemplate(remote_command="true", job_category=image, stage_out_files={"rel": "/x"}))

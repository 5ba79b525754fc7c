"""Placeholders in --output and --error are filled in for docker jobs as on the process backend: %j, %A, %a,
%% and DRMAA2's $DRMAA2_INDEX$, for a single job and for array tasks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.docker.cli import DockerCli


def test_single_job_paths(docker_cli: DockerCli, tmp_path: Path) -> None:
    options = ["--output", f"{tmp_path}/out.%j.txt", "--error", f"{tmp_path}/err.%A%a.100%%.txt"]
    job = docker_cli.submit("sh", "-c", "echo to-out; echo to-err >&2", options=options)
    assert docker_cli.wait(job) == 0
    info = docker_cli.info(job)
    assert info["output_path"] == f"{tmp_path}/out.{job}.txt"
    assert info["error_path"] == f"{tmp_path}/err.{job}.100%.txt"
    assert Path(info["output_path"]).read_text() == "to-out\n"
    assert Path(info["error_path"]).read_text() == "to-err\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [f"err.{job}.100%.txt", f"out.{job}.txt"]


def test_array_task_paths(docker_cli: DockerCli, tmp_path: Path) -> None:
    options = ["--array", "1-2", "--output", f"{tmp_path}/o.%A.%a.%j.txt",
               "--error", f"{tmp_path}/e.$DRMAA2_INDEX$.txt"]
    array = docker_cli.submit("sh", "-c", 'echo "out $DRMAA2_TASK_ID"; echo "err $DRMAA2_TASK_ID" >&2',
                              options=options)
    assert docker_cli.wait(array) == 0
    for index in (1, 2):
        out, err = tmp_path / f"o.{array}.{index}.{array}.{index}.txt", tmp_path / f"e.{index}.txt"
        info = docker_cli.info(f"{array}.{index}")
        assert (info["output_path"], info["error_path"]) == (str(out), str(err))
        assert out.read_text() == f"out {index}\n"
        assert err.read_text() == f"err {index}\n"
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert len([p for p in tmp_path.iterdir() if p.is_file()]) == 4


def test_joined_output_path(docker_cli: DockerCli, tmp_path: Path) -> None:
    job = docker_cli.submit("sh", "-c", "echo one; echo two >&2",
                            options=["--join", "--output", f"{tmp_path}/both.%j"])
    assert docker_cli.wait(job) == 0
    both = tmp_path / f"both.{job}"
    assert docker_cli.info(job)["error_path"] == str(both)
    assert sorted(both.read_text().splitlines()) == ["one", "two"]

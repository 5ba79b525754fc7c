"""The files drmaa2 writes for a docker job are private to the user (0600) whatever the umask: output and
error, joined or not, at their default place and at paths the user gave, at submission and once saved."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker.cli import DockerCli


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would let files be created world-writable (the CLI subprocesses inherit it)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _modes(paths: set[str]) -> dict[str, int]:
    return {path: stat.S_IMODE(os.stat(path).st_mode) for path in paths}


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize("where", ["default", "given"])
@pytest.mark.parametrize("join", [False, True])
def test_output_files_are_0600(docker_cli: DockerCli, tmp_path: Path, where: str, join: bool) -> None:
    options = ["--join"] if join else []
    if where == "given":
        options += ["--output", f"{tmp_path}/job.out", *([] if join else ["--error", f"{tmp_path}/job.err"])]
    job = docker_cli.submit("sh", "-c", "echo out; echo err >&2; sleep 1", options=options)
    info = docker_cli.info(job)
    paths = {info["output_path"], info["error_path"]}
    assert len(paths) == (1 if join else 2)
    assert _modes(paths) == dict.fromkeys(paths, 0o600), "at submission"
    assert docker_cli.wait(job) == 0
    assert _modes(paths) == dict.fromkeys(paths, 0o600), "once the output was saved"
    assert sum(os.path.getsize(p) for p in paths) == len(b"out\nerr\n")


@pytest.mark.usefixtures("open_umask")
def test_files_of_a_job_started_later_are_0600(docker_cli: DockerCli, tmp_path: Path) -> None:
    # Held, then started by drmaa2's runner (a process of its own).
    job = docker_cli.submit("echo", "hi", options=["--hold", "--output", f"{tmp_path}/held.%j"])
    assert docker_cli("release", job).code == 0
    assert docker_cli.wait(job) == 0
    info = docker_cli.info(job)
    paths = {info["output_path"], info["error_path"]}
    assert _modes(paths) == dict.fromkeys(paths, 0o600)
    assert Path(info["output_path"]).read_text() == "hi\n"

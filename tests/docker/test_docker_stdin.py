"""`drmaa2 run` on the docker backend: its standard input reaches the container as it comes (through the
engine's attach), and Ctrl-C stops the container even while it reads."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from typing import IO

from tests.docker.cli import DockerCli


def start_run(docker_cli: DockerCli, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "drmaa2cli", "run", "--backend", "docker", "--image", docker_cli.image, *args],
        env=docker_cli.cli.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_line(stream: IO[bytes], deadline: float = 90) -> bytes:
    """One line of ``stream``, failing (not hanging) when none comes within ``deadline`` seconds. Reads the
    descriptor itself, a byte at a time: a buffered reader could hold a second line where select cannot see
    it."""
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([stream], [], [], deadline)
        assert ready, f"no line within {deadline} s (got {line!r})"
        byte = os.read(stream.fileno(), 1)
        if not byte:
            return line
        line += byte
    return line


def test_standard_input_streams_into_the_container(docker_cli: DockerCli) -> None:
    proc = start_run(docker_cli, "--", "sh", "-c", "while read l; do echo \"got $l\"; done; echo end")
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"one\n")
        proc.stdin.flush()
        assert read_line(proc.stdout) == b"got one\n"  # while run's stdin is still open
        proc.stdin.write(b"two\n")
        proc.stdin.close()  # the container's stdin ends with it
        assert read_line(proc.stdout) == b"got two\n"
        assert read_line(proc.stdout) == b"end\n"
        assert proc.wait(timeout=90) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert docker_cli.containers() == []


def test_ctrl_c_stops_a_container_that_reads_its_input(docker_cli: DockerCli) -> None:
    proc = start_run(docker_cli, "--", "sh", "-c", "echo started; cat")
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"kept open\n")
        proc.stdin.flush()
        assert read_line(proc.stdout) == b"started\n"
        assert read_line(proc.stdout) == b"kept open\n"
        held_open, proc.stdin = proc.stdin, None  # open until run has ended: cat must not end by itself
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        held_open.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.decode().splitlines()[-1].startswith("drmaa2: stopped job "), err
    running = [c for c in docker_cli.containers() if c.get("State") == "running"]
    assert running == [], "the container does not keep running"


def test_an_array_s_tasks_get_no_standard_input_and_say_so(docker_cli: DockerCli) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "drmaa2cli", "run", "--backend", "docker", "--image", docker_cli.image,
         "--array", "1-2", "--", "cat"], env=docker_cli.cli.env, input=b"x\n", capture_output=True, timeout=120)
    assert r.returncode == 201
    assert r.stderr == (b"drmaa2: the docker backend cannot pass standard input to an array's tasks; run it "
                        b"with </dev/null, or use another backend\n")
    assert docker_cli.containers() == []

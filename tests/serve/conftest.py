"""A real `drmaa2 serve` in a subprocess on a free port, over its own drmaa2 home and the process backend, with
its tokens made as a user makes them (`drmaa2 serve token create`); one server per test module."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from drmaa2cli import config
from drmaa2cli.serve import tokens
from drmaa2cli.serve.app import create_app
from drmaa2cli.serve.state import Limits
from tests.conftest import read_line


@dataclass
class Server:
    url: str
    home: Path
    token: str
    read_only: str
    proc: subprocess.Popen[bytes]

    def env(self, home: Path, token: str | None = None) -> dict[str, str]:
        """The environment of a CLI that sends every command to this server (its own, other, home)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
        return {**env, "DRMAA2_HOME": str(home), "DRMAA2_REMOTE": self.url,
                "DRMAA2_REMOTE_TOKEN": self.token if token is None else token}


def make_token(home: Path, *options: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
    r = subprocess.run([sys.executable, "-m", "drmaa2cli", "serve", "token", "create", *options],
                       env={**env, "DRMAA2_HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]  # its last line is the token


def start(home: Path, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
    proc = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "serve", *options],
                            env={**env, "DRMAA2_HOME": str(home)}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    line = read_line(proc.stderr).decode()
    found = re.search(r" on (\S+) ", line)
    assert found, line
    return proc, found.group(1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serving(home: Path) -> Iterator[Server]:
    """A server over ``home`` on a free port, with a token that may control and a read-only one, stopped after."""
    token, read_only = make_token(home), make_token(home, "--read-only")
    proc, url = start(home, "--port", "0")
    yield Server(url, home, token, read_only, proc)
    stop(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(tmp_path_factory.mktemp("served") / "home")


def in_process(home: Path, token: str | None = None, limits: Limits | None = None, *,
               raise_app_exceptions: bool = True, **headers: str) -> httpx.AsyncClient:
    """A client of a server made anew over ``home`` in this process (no port), sending ``token`` (a new one when
    None) and ``headers`` with every request."""
    token = token or tokens.create(home)[1]
    app = create_app(config.resolve(environ={"DRMAA2_HOME": str(home)}), limits)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://drmaa2",
                             headers={"Authorization": f"Bearer {token}", **headers})

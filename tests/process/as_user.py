"""drmaa2 run as an unprivileged user, as most of its users run it: fixtures for the tests beside this module.

As root (the test suite's usual condition), ``tests/infra/test-user.sh`` creates the user ``drmaa2test`` and a venv
it can run (a system Python: the runner's own may live under /root, which is 0700, as may the checkout), and the
session copies the source tree to where that user can read it. Each CLI call then runs as that user through
``setpriv``, which changes the user and execs in place (no process in between: a Ctrl-C sent to the call reaches
drmaa2 itself), with no capabilities left. Run by an unprivileged user already, the tests run the CLI as that user.
"""

from __future__ import annotations

import compileall
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import drmaa2cli
from tests import processes
from tests.conftest import Cli, Result
from tests.requires import unavailable

ROOT = Path(drmaa2cli.__file__).resolve().parent.parent
USER_NAME = os.environ.get("DRMAA2_TEST_USER", "drmaa2test")
STATE = Path(os.environ.get("DRMAA2_TEST_STATE", "/var/lib/drmaa2-test")) / "user"


@dataclass
class User:
    """Whom the CLI runs as, with which Python and which copy of drmaa2."""

    name: str
    uid: int
    gid: int
    home: str
    python: str
    #: Put before the interpreter: the switch to the user (empty when the tests run as that user already).
    prefix: list[str]
    #: PYTHONPATH holding the copy of drmaa2cli (None: the interpreter's own installation).
    source: str | None
    #: A directory of this session the user may write in; each test gets one below it.
    area: Path

    def environment(self, home: Path) -> dict[str, str]:
        if not self.prefix:
            env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
        else:
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.home, "USER": self.name,
                   "LOGNAME": self.name, "LANG": "C.UTF-8", "SHELL": "/bin/sh"}
            if processes.OWNER in os.environ:  # so that the run's sweep finds a shepherd it left
                env[processes.OWNER] = os.environ[processes.OWNER]
        if self.source is not None:
            env["PYTHONPATH"] = self.source
        env["DRMAA2_HOME"] = str(home)
        return env

    def directory(self, path: Path) -> Path:
        """``path`` made, owned by the user, private."""
        path.mkdir(mode=0o700, parents=True)
        if self.prefix:
            os.chown(path, self.uid, self.gid)
        return path


class UserCli(Cli):
    """``Cli`` whose calls run as ``user``."""

    def __init__(self, user: User, home: Path) -> None:
        super().__init__(home, user.environment(home))
        self.user = user

    def argv(self, *args: str) -> list[str]:
        return [*self.user.prefix, self.user.python, "-m", "drmaa2cli", *args]

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
                 input: str | None = None, cwd: Path | None = None) -> Result:
        proc = subprocess.run(self.argv(*args), env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or self.home.parent,
                              **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, **options: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv(*args), env=self.env, cwd=self.home.parent, **options)


def requirements() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _as_root(base: Path) -> User:
    if shutil.which("setpriv") is None:
        unavailable("setpriv (util-linux) is not installed")
    wanted = requirements()
    venv = STATE / ("venv-" + hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:12])
    proc = subprocess.run([str(ROOT / "tests" / "infra" / "test-user.sh"), str(venv), *wanted],
                          capture_output=True, text=True, timeout=1200, check=False)
    if proc.returncode != 0:
        unavailable(f"tests/infra/test-user.sh failed: {proc.stderr.strip()[-500:]}")
    entry = pwd.getpwnam(USER_NAME)
    # The source tree where the user can read it, compiled (the user cannot write __pycache__ there).
    source = base / "src"
    shutil.copytree(ROOT / "drmaa2cli", source / "drmaa2cli", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(source, quiet=1)
    for path in [base, *source.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--"]
    return User(USER_NAME, entry.pw_uid, entry.pw_gid, entry.pw_dir, proc.stdout.strip(), prefix, str(source),
                base / "area")


@pytest.fixture(scope="session")
def unprivileged() -> Iterator[User]:
    """The user the tests of this folder run drmaa2 as (never root)."""
    base = Path(tempfile.mkdtemp(prefix="drmaa2-as-user-"))
    try:
        if os.geteuid() == 0:
            user = _as_root(base)
        else:
            entry = pwd.getpwuid(os.geteuid())
            user = User(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, sys.executable, [], None,
                        base / "area")
        user.area.mkdir(mode=0o711)
        if user.prefix:
            os.chown(user.area, user.uid, user.gid)
        yield user
    finally:
        left = processes.end([base])
        shutil.rmtree(base, ignore_errors=True)
        assert not left, f"processes left running as the test user: {[p.describe() for p in left]}"


_TESTS = iter(range(1_000_000))


@pytest.fixture
def user_cli(unprivileged: User) -> Iterator[UserCli]:
    """The CLI run as the unprivileged user, in a drmaa2 home of its own (``home.parent``: a private work
    directory the user owns)."""
    work = unprivileged.directory(unprivileged.area / f"t{next(_TESTS)}")
    cli = UserCli(unprivileged, work / "home")
    yield cli
    cli.end_jobs()
    processes.end([work])

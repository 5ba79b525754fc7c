"""Shared fixtures: a private DRMAA2_HOME per test and the CLI run as a real subprocess; every test ends the
jobs and processes it started, and the run fails (under CI=true) if any of its processes outlive it."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import settings

from tests import parallel, processes

# Each backend's fixtures (engines, schedulers, stand-ins) and its `<name>_target` for the shared suite.
pytest_plugins = [
    "tests.cf.fixtures",
    "tests.docker.fixtures",
    "tests.gridengine.fixtures",
    "tests.kubernetes.fixtures",
    "tests.libdrmaa.fixtures",
    "tests.slurm.fixtures",
    # The stress suite's closing figures, printed by whichever process gathers the reports.
    "tests.stress.report",
]


# A run started in the background of a script without job control (`scripts/test &`) inherits SIGINT and SIGQUIT
# ignored, as does every process its tests start: `drmaa2 run` would never see the Ctrl-C a test sends it, and
# the run-interrupt tests would wait out their deadlines. The run's own handlers, as in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

# No deadline per example: timing goals belong in bench/, and on a loaded machine (the suite runs on several
# workers beside its engines) a quick example may take longer than hypothesis's default 200 ms.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    parallel.mark_groups(items)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's: a worker's collection, as the scheduler will see it
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    parallel.check_grouped(node.config, ids)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs `python -m drmaa2cli ARGS` with this test's environment."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        # Every variable a call added (a backend's client environment): end_jobs needs them to reach the jobs.
        self.extra_env: dict[str, str] = {}

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
                 input: str | None = None, cwd: Path | None = None) -> Result:
        self.extra_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "drmaa2cli", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            # Never the test runner's own stdin: `run` passes whatever input it has to its job, and `submit`
            # without a command reads a job script from a pipe.
            **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}),
            cwd=cwd,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def submit(self, *command: str, options: Sequence[str] = ()) -> str:
        r = self("submit", "--terse", *options, "--", *command)
        assert r.code == 0, r.err
        return r.out.strip()

    def until_state(self, job_id: str, *states: str, timeout: float = 120) -> dict[str, Any]:
        """Poll the job's record until its state is one of ``states`` (generous deadline); returns it."""
        deadline = time.monotonic() + timeout
        while (info := self.info(job_id))["state"] not in states:
            assert time.monotonic() < deadline, f"job {job_id} is {info['state']}, not {states}, after {timeout} s"
            time.sleep(0.05)
        return info

    def info(self, job_id: str) -> dict[str, Any]:
        r = self("status", "--json", job_id)
        assert r.code == 0, r.err
        jobs: list[dict[str, Any]] = r.json()["jobs"]
        assert len(jobs) == 1
        return jobs[0]

    def end_jobs(self) -> None:
        """Kill every job of this home still active, in every session and on every backend (containers and
        scheduler jobs too, which no process of ours shows), and wait for them to end."""
        if nothing_active(self.home):
            return
        env = {**self.env, **self.extra_env}
        r = self("status", "--all", "--json", "--limit", "0", env=env, timeout=120)
        if r.code != 0:
            return  # a test that broke the store on purpose: the process sweep ends what is left
        active = [j["id"] for j in r.json()["jobs"] if j["state"] not in ("done", "failed")]
        if active:
            self("kill", "--signal", "KILL", *active, env=env, timeout=120)
            self("wait", "--timeout", "60", *active, env=env, timeout=120)


def nothing_active(home: Path) -> bool:
    """A glance at the store of ``home``: True when it has no job that is not final (or no store at all), so
    that a test's clean-up can spare its CLI calls (most tests). False when it cannot tell."""
    try:
        live = json.loads((home / "jobs.json").read_text())
        # An array with a task not ended is listed in the meta (its tasks are in a file of their own).
        if live["_meta"]["1"].get("arrays"):
            return False
        return all(r["state"] in ("done", "failed") for r in live.get("jobs", {}).values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return not home.is_dir()


def until(check: Callable[[], object], what: str, timeout: float = 120, interval: float = 0.05) -> None:
    """Wait for an event (``check()`` true) instead of sleeping for a guessed time; the deadline is generous
    (a loaded machine), and passing it fails the test saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(interval)


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


def gate(path: Path, limit: float = 600) -> str:
    """Shell code that waits until ``path`` exists, then succeeds: a job that lasts until the test lets it
    end (by creating ``path``), instead of a short sleep that a slow CLI round trip can outlast. Bounded:
    after ``limit`` seconds it gives up and fails."""
    return (f"i=0; while [ ! -e '{path}' ] && [ $i -lt {int(limit * 20)} ]; do sleep 0.05; i=$((i+1)); done; "
            f"[ -e '{path}' ]")


_OWNERS = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails the run (under CI=true; elsewhere it only reports) when a drmaa2 shepherd, runner, job or CLI call of
    this run is still alive at its end: one whose DRMAA2_HOME, or whose owner mark, is under this run's tmp
    directories. Other runs on the machine have their own; nothing of theirs is touched. Kills what it found."""
    base = tmp_path_factory.getbasetemp()
    yield
    left = processes.end([base])
    if left:
        listing = "\n".join(f"  {p.describe()}" for p in left)
        message = f"{len(left)} process(es) started by this test run outlived it (killed now):\n{listing}"
        print(f"\n{message}", file=sys.stderr)
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)


@pytest.fixture(autouse=True)
def _end_the_tests_processes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                             monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After each test, end every process it started with a DRMAA2_HOME under its tmp directory, and every
    shepherd or runner it started in-process (marked through the environment they inherit)."""
    owner = tmp_path_factory.getbasetemp() / f"owner-{next(_OWNERS)}"
    monkeypatch.setenv(processes.OWNER, str(owner))
    roots = [owner]
    if "tmp_path" in request.fixturenames:
        roots.append(request.getfixturevalue("tmp_path"))
    yield
    left = processes.end(roots)
    if left:
        warnings.warn(f"{request.node.nodeid} left {len(left)} process(es) running (killed): "
                      + "; ".join(p.describe() for p in left), stacklevel=1)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Iterator[Cli]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
    env["DRMAA2_HOME"] = str(home)
    made = Cli(home, env)
    yield made
    made.end_jobs()


@pytest.fixture
def make_cli(tmp_path: Path) -> Iterator[Callable[[str], Cli]]:
    made: list[Cli] = []

    def make(name: str) -> Cli:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
        env["DRMAA2_HOME"] = str(tmp_path / name)
        made.append(Cli(tmp_path / name, env))
        return made[-1]

    yield make
    for each in made:
        each.end_jobs()

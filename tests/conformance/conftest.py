"""The conformance suite's target: one backend, driven through the real CLI (and the Python API) as a user would.

Every test in this directory runs once per backend in ``BACKENDS``. Each backend's fixtures (in
``tests/<backend>/fixtures.py``) contribute ``<name>_target``: the submit options that select it and the
environment its client needs; an engine that cannot be started skips there without CI=true and fails with it.
A case the backend declares it refuses (``Backend.refuses``) is checked as a refusal instead (``Target.refused``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends import backend_class
from drmaa2cli.backends.contract import CASES, Refusal
from tests.conftest import nothing_active
from tests.process.as_user import User, unprivileged

__all__ = ["unprivileged"]  # the fixture process_user_target needs, imported for pytest

BACKENDS = ["process", "docker", "podman", "cf", "slurm", "gridengine", "libdrmaa", "kubernetes", "remote"]
#: Targets beyond one per backend: ``process-user`` is the process backend driven by an unprivileged user
#: (``tests/process/as_user.py``: no cgroup there, so its jobs' shepherds are their subreapers), for the cases
#: in USER_CASES only (``tests/process`` checks the same user's containment more closely).
TARGETS = [*BACKENDS, "process-user", "remote-front", "remote-docker"]
USER_CASES = frozenset({"kill", "kill-suspended", "containment", "output-files", "accounting", "run-interrupt"})
#: ``remote`` is `--backend remote --contact URL`: each job on a `drmaa2 serve` server over the process backend,
#: for the cases that take each path of the backend and its client (submit, arrays, dependencies, control,
#: alter, requeue, output, errors); the others are the server's process backend's own, run by ``process``.
REMOTE_CASES = frozenset({"exit-status", "arguments", "output-bytes", "after", "kill", "hold", "suspend",
                          "array-list", "alter", "requeue", "rejected", "output-files", "slots", "retries"})
#: ``remote-front`` is every command sent to that server (``DRMAA2_REMOTE``), no local record: the paths of its
#: front that the backend's cases do not take. Not offered by the front: `run` (its input and Ctrl-C are
#: local), the platform's `jobs`, job script files; local queues and slots are the server's configuration.
FRONT_CASES = frozenset({"exit-status", "kill", "hold", "array-list", "alter", "requeue"})
#: ``remote-docker`` is the front too, its jobs containers of the server's docker backend (``--backend docker
#: --image``, sent to the server as the template's category): the front's cases again, over docker.
#: The backends whose jobs are containers: the test's directory is mounted into them (a bind mount; for
#: kubernetes a hostPath volume, the one node of the test cluster being this machine).
CONTAINERS = ("docker", "podman", "kubernetes")
#: Marks the test that checks one contract case: ``@case("kill")``.
case = pytest.mark.case
#: How long a job may take to reach a state on a loaded two-core machine (a scheduler polls, an engine boots).
DEADLINE = 120.0


@dataclass
class Run:
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode()

    def json(self) -> Any:
        return json.loads(self.out)


class Target:
    """One backend, reached through ``python -m drmaa2cli`` in this test's own drmaa2 home."""

    def __init__(self, backend: str, spec: Mapping[str, Any], home: Path, workdir: Path) -> None:
        self.backend = backend
        self.options: list[str] = list(spec["options"])
        #: What runs ``-m drmaa2cli``: this interpreter, or another user's (a target's "python").
        self.python: list[str] = list(spec.get("python", [sys.executable]))
        base = spec.get("environment", os.environ)
        self.env = {k: v for k, v in base.items() if not k.startswith("DRMAA2_")}
        self.env.update(spec["env"])
        self.env["DRMAA2_HOME"] = str(home)
        self.home = home
        #: A directory the job sees at the same path as this test (bind-mounted into containers).
        self.workdir = workdir
        #: Where the CLI runs: the test runner's own directory, or the workdir for another user (who may not
        #: be able to enter the runner's).
        self.cwd = workdir if "area" in spec else None
        self.category = next((self.options[i + 1] for i, o in enumerate(self.options)
                              if o in ("--image", "--app")), None)
        self.refuses: Mapping[str, Refusal] = backend_class(backend).refuses

    # --- the CLI ----------------------------------------------------------------------------------------
    def __call__(self, *args: str, timeout: float = DEADLINE + 60, cwd: Path | None = None) -> Run:
        proc = subprocess.run(self.argv(*args), env=self.env, capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd or self.cwd)
        return Run(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))

    def argv(self, *args: str) -> list[str]:
        return [*self.python, "-m", "drmaa2cli", *args]

    def job_options(self) -> list[str]:
        """The options that put a job on this backend and let it see ``workdir``."""
        mount = ["--mount", f"{self.workdir}:{self.workdir}"] if self.backend in CONTAINERS else []
        return [*self.options, *mount]

    def submit(self, *command: str, options: tuple[str, ...] = ()) -> str:
        r = self("submit", "--terse", *self.job_options(), *options, "--", *command)
        assert r.code == 0, r.err
        return r.text.strip()

    def info(self, job_id: str) -> dict[str, Any]:
        r = self("status", "--json", job_id)
        assert r.code == 0, r.err
        jobs: list[dict[str, Any]] = r.json()["jobs"]
        return jobs[0]

    def tasks(self, array_id: str) -> dict[str, dict[str, Any]]:
        r = self("status", "--json", array_id)
        assert r.code == 0, r.err
        return {j["id"]: j for j in r.json()["jobs"]}

    def wait(self, job_id: str) -> int:
        return self("wait", "--timeout", str(int(DEADLINE)), job_id).code

    def until(self, job_id: str, ready: Callable[[dict[str, dict[str, Any]]], bool], what: str) -> None:
        """Poll the job's (or array's) records until ``ready`` holds for them; fails after DEADLINE."""
        end = time.monotonic() + DEADLINE
        while True:
            jobs = self.tasks(job_id)
            if ready(jobs):
                return
            assert time.monotonic() < end, f"{self.backend}: job {job_id} never {what}: {jobs}"
            time.sleep(0.2)

    def until_state(self, job_id: str, *states: str) -> None:
        self.until(job_id, lambda jobs: all(j["state"] in states for j in jobs.values()), f"reached {states}")

    # --- refusals ---------------------------------------------------------------------------------------
    def refused(self, case: str) -> Refusal | None:
        assert case in CASES, case
        return self.refuses.get(case)

    def check_refusal(self, case: str, r: Run) -> None:
        """``r`` is the command that asked for ``case``: it failed with the declared code and one line."""
        refusal = self.refuses[case]
        assert refusal.code is not None
        assert r.code == refusal.code, (r.code, r.err)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("drmaa2: "), r.err

    # --- clean-up ---------------------------------------------------------------------------------------
    def kill_everything(self) -> None:
        """End whatever the test left active, so nothing stays queued on a shared scheduler."""
        if nothing_active(self.home):
            return
        r = self("status", "--json", "--all", "--limit", "0")
        if r.code != 0:
            return
        active = [j["id"] for j in r.json()["jobs"] if j["state"] not in ("done", "failed")]
        if active:
            self("kill", "--signal", "KILL", *active)
            self("wait", "--timeout", "60", *active)


@pytest.fixture
def process_target() -> dict[str, Any]:
    return {"options": ["--backend", "process"], "env": {}}


_USER_TESTS = iter(range(1_000_000))


@pytest.fixture
def process_user_target(unprivileged: User) -> dict[str, Any]:
    area = unprivileged.directory(unprivileged.area / f"conformance-{next(_USER_TESTS)}")
    return {"options": ["--backend", "process"], "env": {}, "backend": "process", "area": area,
            "python": [*unprivileged.prefix, unprivileged.python], "environment": unprivileged.environment(area)}


@pytest.fixture(scope="session")
def remote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from tests.serve.conftest import make_token, start, stop

    home = tmp_path_factory.mktemp("remote-server") / "home"
    token = make_token(home)
    proc, url = start(home, "--port", "0")
    yield url, token
    stop(proc)


@pytest.fixture
def remote_target(remote_server: tuple[str, str]) -> dict[str, Any]:
    url, token = remote_server
    return {"options": ["--backend", "remote", "--contact", url], "env": {"DRMAA2_REMOTE_TOKEN": token}}


@pytest.fixture
def remote_front_target(remote_server: tuple[str, str]) -> dict[str, Any]:
    url, token = remote_server
    return {"options": [], "env": {"DRMAA2_REMOTE": url, "DRMAA2_REMOTE_TOKEN": token}, "backend": "process"}


@pytest.fixture
def remote_docker_target(remote_server: tuple[str, str], docker_target: dict[str, Any]) -> dict[str, Any]:
    url, token = remote_server
    return {"options": docker_target["options"], "backend": "docker",
            "env": {**docker_target["env"], "DRMAA2_REMOTE": url, "DRMAA2_REMOTE_TOKEN": token}}


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    spec = request.getfixturevalue(f"{request.param.replace('-', '_')}_target")
    base = spec.get("area", tmp_path)
    workdir = base / "work"
    workdir.mkdir()
    if "area" in spec:
        os.chown(workdir, base.stat().st_uid, base.stat().st_gid)
    t = Target(spec.get("backend", request.param), spec, base / "home", workdir)
    yield t
    t.kill_everything()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``process-user`` runs the cases in USER_CASES only, ``remote`` those in REMOTE_CASES, ``remote-front``
    and ``remote-docker`` those in FRONT_CASES; their other tests are deselected (not skipped)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        marks = {m.args[0] for m in item.iter_markers("case")}
        name = callspec.params.get("target") if callspec is not None else None
        only = {"process-user": USER_CASES, "remote": REMOTE_CASES, "remote-front": FRONT_CASES,
                "remote-docker": FRONT_CASES}.get(name)
        (dropped if only is not None and not marks & only else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

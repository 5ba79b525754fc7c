"""The DRMAA2 Python binding (``import drmaa2``): one program written only against it runs unchanged on every
backend's real engine; the README's seed example runs; the binding's exceptions say what the CLI says; importing
it stays light."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli import errors
from drmaa2cli.binding.exceptions import MAPPING, DrmaaException, translate

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "library" / "binding_program.py"


def environment(home: Path, spec: dict[str, Any] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
    env.update((spec or {}).get("env", {}))
    env["DRMAA2_HOME"] = str(home)
    return env


def python(argv: list[str], env: dict[str, str], cwd: Path,
           timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("backend", ["process", "docker", "docker-address", "slurm", "gridengine"])
def test_one_program_runs_unchanged_on_every_backend(backend: str, request: pytest.FixtureRequest,
                                                     tmp_path: Path) -> None:
    name = backend.partition("-")[0]
    # The backends' fixtures start their engines (tests/<backend>/fixtures.py); processes need none.
    spec: dict[str, Any] = ({"options": [], "env": {}} if name == "process"
                            else request.getfixturevalue(f"{name}_target"))
    options = spec["options"]
    category = options[options.index("--image") + 1] if "--image" in options else None
    contact = name
    if backend == "docker-address":  # the engine named by its address selects the docker backend
        contact = spec["env"].get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    argv = [str(PROGRAM), contact, *([category] if category else [])]
    r = python(argv, environment(tmp_path / "home", spec), tmp_path)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert r.stdout.splitlines()[-1] == "destroy_session: ok", r.stdout
    assert len(r.stdout.splitlines()) == 11, r.stdout
    assert f"staging: {'honoured' if name == 'docker' else 'refused'}" in r.stdout.splitlines(), r.stdout
    placement = "honoured" if name in ("slurm", "gridengine") else "refused"
    assert f"placement: {placement}" in r.stdout.splitlines(), r.stdout


def readme_seed() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- binding seed example -->\n```python\n(.*?)```\n<!-- end of binding seed example -->",
                  text, re.S)
    assert m, "README.md lacks the binding's seed example between its markers"
    return m.group(1)


def test_the_readme_seed_example_runs(tmp_path: Path) -> None:
    # Run as it is written, then report what it left in its variables: job1 ran first and, being done, the
    # second job ran after it; the session is gone.
    check = ("\nimport json\nprint(json.dumps({'first': job.job_id, 'second': second.job_id, "
             "'sessions': drmaa2.get_job_session_names()}))\n")
    r = python(["-c", readme_seed() + check], environment(tmp_path / "home"), tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert (out["first"], out["second"]) == ("1", "2")
    assert "seed" not in out["sessions"]


def test_the_binding_and_the_cli_say_the_same(tmp_path: Path) -> None:
    env = environment(tmp_path / "home")
    cli = subprocess.run([sys.executable, "-m", "drmaa2cli", "sessions", "destroy", "no-such"], env=env,
                         capture_output=True, text=True, timeout=60)
    code = ("import drmaa2\ntry:\n    drmaa2.destroy_session('no-such')\n"
            "except drmaa2.InvalidSessionException as e:\n    print(e.exit_status, e)\n")
    r = python(["-c", code], env, tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{cli.returncode} {cli.stderr.strip().removeprefix('drmaa2: ')}"


def test_every_drmaa2_error_maps_onto_a_standard_exception() -> None:
    ours = [c for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, errors.Drmaa2Error) and c.__module__ == errors.__name__]
    mapped = [d for d, _ in MAPPING]
    assert set(ours) == set(mapped)
    # A subclass comes before its base, or the base's exception would win.
    for i, d in enumerate(mapped):
        assert not any(issubclass(d, earlier) for earlier in mapped[:i]), d
    for cls in ours:
        e = translate(cls("the message"))
        assert isinstance(e, DrmaaException) and str(e) == "the message" and e.exit_status == cls.exit_status


def test_importing_drmaa2_loads_no_cli_and_no_backend(tmp_path: Path) -> None:
    code = "import drmaa2, json, sys\nprint(json.dumps(sorted(sys.modules)))"
    r = python(["-c", code], environment(tmp_path / "home"), tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = set(json.loads(r.stdout))
    libraries = ("typer", "rich", "click", "tinydb", "psutil", "httpx", "docker")
    ours = ("drmaa2cli.backends", "drmaa2cli.store", "drmaa2cli.service", "drmaa2.sessions")
    heavy = {m for m in loaded if m.split(".")[0] in libraries or m.startswith(ours)}
    assert not heavy, sorted(heavy)


def test_a_contact_with_a_password_is_refused_without_echoing_it(tmp_path: Path) -> None:
    code = ("import drmaa2\ntry:\n    drmaa2.create_job_session('s', 'ssh://me:s3cret@host')\n"
            "except drmaa2.InvalidArgumentException as e:\n    print(e.exit_status, e)\n")
    r = python(["-c", code], environment(tmp_path / "home"), tmp_path, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("201 a contact must not carry a password"), r
    assert "s3cret" not in r.stdout + r.stderr
    store = tmp_path / "home" / "jobs.json"
    assert not store.exists() or b"s3cret" not in store.read_bytes()


def test_a_cf_session_s_categories_are_the_space_s_apps(cf_target: dict[str, Any], tmp_path: Path) -> None:
    code = ("import drmaa2\ns = drmaa2.create_job_session('apps', 'cf')\nprint(s.job_categories)\n"
            "drmaa2.destroy_session('apps')\n")
    r = python(["-c", code], environment(tmp_path / "home", cf_target), tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    app = cf_target["options"][cf_target["options"].index("--app") + 1]
    assert app in ast.literal_eval(r.stdout)

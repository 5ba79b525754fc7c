"""``import drmaa2`` after a regular ``pip install .`` into a fresh virtual environment and after an editable
install (this checkout's own .venv), from a directory outside the repository."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ("import drmaa2, drmaa2cli\n"
         "t = drmaa2.JobTemplate(remote_command='true')\n"
         "assert drmaa2.INFINITE_TIME == -1 and drmaa2.JobState.DONE.value == 7 and t.args is None\n"
         "print(drmaa2.__file__)\n")


def test_every_package_directory_is_listed_in_pyproject() -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    assert tool["package-dir"] == {"drmaa2": "drmaa2cli/binding"}
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "drmaa2cli").rglob("__init__.py")}
    found.discard("drmaa2cli.binding")
    assert listed == found | {"drmaa2"}


def test_a_regular_install_provides_drmaa2(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(ROOT)],
                         capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr
    r = subprocess.run([str(venv / "bin" / "python"), "-c", CHECK], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    installed = Path(r.stdout.strip())
    assert installed.parent.name == "drmaa2" and "site-packages" in installed.parts
    # One copy of the binding: it is not also installed as drmaa2cli.binding.
    assert not (installed.parent.parent / "drmaa2cli" / "binding").exists()


def test_an_editable_install_provides_drmaa2(tmp_path: Path) -> None:
    # The test run's own interpreter is the checkout's editable install (README: pip install -e '.[test]').
    r = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()) == ROOT / "drmaa2cli" / "binding" / "__init__.py"

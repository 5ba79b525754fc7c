"""The shepherd stays small (it runs once per running job) without changing what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drmaa2cli.backends.process import shepherd
from drmaa2cli.backends.process.backend import SHEPHERD
from tests.conftest import Cli

#: Where DetachedLaunch imports the shepherd from, as ``process.shepherd`` (procfs.helper_argv).
BACKENDS = str(SHEPHERD.parent.parent)
HEAVY = {"json", "re", "typing", "signal", "enum", "contextlib", "collections", "functools"}


def test_shepherd_imports_only_builtin_modules() -> None:
    code = f"import sys; sys.path.insert(0, {BACKENDS!r}); import process.shepherd; print(' '.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert "process.shepherd" in loaded
    assert not HEAVY & set(loaded), HEAVY & set(loaded)


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**40, 0.1, 1795553037.6260211, "", "plain", 'quote " and \\ backslash',
    "tab\tnewline\nreturn\rbell\x07nul\x00del\x7f", "ünïcødé ✓", "emoji 🎉 astral", "lone \udcff surrogate",
])
def test_records_are_the_json_the_json_module_writes(value: object) -> None:
    assert shepherd.json_value(value) == json.dumps(value)
    assert json.loads(shepherd.json_value(value)) == value


def test_a_failed_start_names_an_undecodable_file_in_valid_json(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "d\udcffir"
    bad.mkdir()
    job = cli.submit("true", options=["--hold", "--output", str(bad / "out.txt")])
    bad.rename(tmp_path / "gone")  # the job's output file is opened when it starts: after the release
    assert cli("release", job).code == 0
    assert cli("wait", job).code == 207  # it never ran, so it has no exit status
    record = json.loads((cli.home / "run" / f"{job}.exit").read_bytes())
    assert record["annotation"] == f"cannot open {bad / 'out.txt'}: No such file or directory"


def test_a_signal_wakes_the_shepherd_even_before_python_runs_its_handler() -> None:
    # The handler below writes nothing, so only the C-level wakeup fd can make the wake pipe readable: that
    # is what stops a child's exit from being missed when it lands just before select() is entered.
    code = f"""if True:
        import os, select, sys
        sys.path.insert(0, {BACKENDS!r})
        import _signal
        from process import shepherd
        s = shepherd.Shepherd({{"run_dir": "/tmp", "id": "1", "tasks": []}})
        s.listen()
        _signal.signal(_signal.SIGCHLD, lambda signum, frame: None)
        pid = os.posix_spawn("/bin/true", ["true"], os.environ)
        readable, _, _ = select.select([s.wake_r], [], [], 10)
        os.waitpid(pid, 0)
        print("woken" if readable else "missed")
    """
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    assert out.strip() == "woken"

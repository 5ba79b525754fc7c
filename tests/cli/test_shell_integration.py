"""Completions, man page, config precedence, JSON and colour rules: what makes drmaa2 native to a shell."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import typer

from drmaa2cli import docgen
from drmaa2cli.cli.app import app
from drmaa2cli.errors import EXIT_CODE_HELP
from tests import requires
from tests.conftest import Cli, gate

ROOT = Path(__file__).resolve().parents[2]
BIN = str(Path(sys.executable).parent)


def walk(command: object, path: str = "drmaa2") -> list[tuple[str, object]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            found += walk(sub, f"{path} {name}")
    return found


def test_generated_files_are_current() -> None:
    r = subprocess.run([sys.executable, "-m", "drmaa2cli.docgen", "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_command_and_option_is_documented() -> None:
    man = (ROOT / "man" / "drmaa2.1").read_text().replace("\\-", "-")
    for path, command in walk(typer.main.get_command(app)):
        assert f'.SS "{path}"' in man or path == "drmaa2", path
        assert getattr(command, "help", None), f"{path} has no help"
        for param in getattr(command, "params", []):
            if param.param_type_name == "option" and param.name not in ("install_completion", "show_completion"):
                assert param.help, f"{path} {param.opts} has no help text"
                for opt in param.opts:
                    assert opt in man, f"{opt} of {path} missing from the man page"
    for code in EXIT_CODE_HELP:
        assert code.replace("-", "-") in man
    for section in ("EXIT STATUS", "ENVIRONMENT", "FILES"):
        assert f".SH {section}" in man


def test_man_renders() -> None:
    man = requires.command("man", "man-db")
    r = subprocess.run([man, "-l", str(ROOT / "man" / "drmaa2.1")], capture_output=True, text=True,
                       env={**os.environ, "MANPAGER": "cat", "PAGER": "cat"})
    assert r.returncode == 0, r.stderr
    assert "--timeout" in r.stdout and "EXIT STATUS" in r.stdout


def bash_complete(cli: Cli, words: str) -> list[str]:
    script = ROOT / "completions" / "drmaa2.bash"
    cword = len(words.split(" ")) - 1
    code = (f"source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; "
            '_drmaa2_completion drmaa2; printf "%s\\n" "${COMPREPLY[@]}"')
    env = {**cli.env, "PATH": BIN + os.pathsep + cli.env.get("PATH", "")}
    r = subprocess.run(["bash", "--norc", "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion_offers_commands_and_job_ids(cli: Cli) -> None:
    assert "_drmaa2_completion" in (ROOT / "completions" / "drmaa2.bash").read_text()
    job = cli.submit("sleep", "30", options=["--session", "night"])
    try:
        assert bash_complete(cli, "drmaa2 wa") == ["wait"]
        assert job in bash_complete(cli, "drmaa2 wait ''")
        assert "night" in bash_complete(cli, "drmaa2 status --session ''")
        assert "process" in bash_complete(cli, "drmaa2 submit --backend ''")
        assert "--timeout" in bash_complete(cli, "drmaa2 submit --ti")
    finally:
        cli("kill", "--signal", "KILL", job)


def test_config_precedence(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    (cli.home / "config.toml").write_text('backend = "docker"\nsession = "nightly"\n')
    settings = cli("config", "--json").json()["settings"]
    assert settings["backend"] == {"value": "docker", "source": "config file"}
    assert settings["session"] == {"value": "nightly", "source": "config file"}
    settings = cli("config", "--json", env={"DRMAA2_BACKEND": "slurm"}).json()["settings"]
    assert settings["backend"] == {"value": "slurm", "source": "env DRMAA2_BACKEND"}
    settings = cli("config", "--json", "--backend", "cf", env={"DRMAA2_BACKEND": "slurm"}).json()["settings"]
    assert settings["backend"] == {"value": "cf", "source": "flag"}
    assert "config file" in cli("config").out
    # the session from the config file is the one jobs go to
    (cli.home / "config.toml").write_text('session = "nightly"\n')
    job = cli.submit("true")
    assert cli.info(job)["session"] == "nightly"


def test_broken_config_names_file_and_line(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    (cli.home / "config.toml").write_text('session = "a"\nbackend = \n')
    r = cli("status")
    assert r.code == 201
    assert str(cli.home / "config.toml") in r.err and "line 2" in r.err
    assert len(r.err.splitlines()) == 1
    (cli.home / "config.toml").write_text("backend = 3\n")
    assert "must be a string" in cli("status").err


def test_json_documents_keep_stdout_clean(cli: Cli) -> None:
    r = cli("submit", "--json", "--", "sh", "-c", "exit 2")
    assert r.code == 0 and r.json()["job"]["id"]
    job = r.json()["job"]["id"]
    r = cli("wait", "--json", job)
    assert r.code == 2 and r.json()["jobs"][0]["exit_status"] == 2  # the note goes to stderr only
    for args in (["status", "--json"], ["sessions", "--json"], ["config", "--json"], ["status", "--json", job]):
        doc = cli(*args).json()
        assert doc["schema_version"] == 1, args


def run_on_tty(cli: Cli, *args: str, env: dict[str, str] | None = None) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "drmaa2cli", *args], stdout=slave, stderr=slave,
                            env={**cli.env, "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_colour_only_on_a_tty_and_never_with_no_color(cli: Cli) -> None:
    job = cli.submit("false")
    cli("wait", job)
    assert "\x1b[" not in cli("status").out  # a pipe: plain
    coloured = run_on_tty(cli, "status")
    assert "\x1b[31m" in coloured or "\x1b[91m" in coloured  # failed in red
    plain = run_on_tty(cli, "status", env={"NO_COLOR": "1"})
    assert "failed" in plain and "\x1b[31m" not in plain and "\x1b[91m" not in plain


def test_watch_ends_when_the_jobs_end(cli: Cli, tmp_path: Path) -> None:
    # The job runs until the watch has shown it running (a short sleep could end before a slow CLI starts).
    go = tmp_path / "go"
    job = cli.submit("sh", "-c", gate(go))
    watch = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "status", "--watch", "--interval", "0.1", job],
                             env=cli.env, stdout=subprocess.PIPE, text=True)
    assert watch.stdout is not None
    lines = []
    try:
        for line in watch.stdout:
            lines.append(line)
            if "running" in line:
                go.touch()
        assert watch.wait(timeout=120) == 0
    finally:
        watch.kill()
    out = "".join(lines)
    assert "running" in out and out.rstrip().splitlines()[-1].split()[3] == "done", out
    assert "\x1b[" not in out


def test_misspelled_command_suggests(cli: Cli) -> None:
    r = cli("wiat", "1")
    assert r.code == 201 and "Did you mean 'wait'" in r.err


def test_docgen_main_writes_into_a_checkout(tmp_path: Path) -> None:
    files = docgen.generated()
    assert set(p.name for p in files) == {"drmaa2.1", "drmaa2.bash", "_drmaa2", "drmaa2.fish", "README.md",
                                          "jobscripts.md"}

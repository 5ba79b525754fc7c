"""Working with jobs from the shell: what a person or a script types and reads (process backend, real CLI)."""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli import render
from drmaa2cli.backends import REGISTRY, backend_class
from drmaa2cli.backends.sched import common
from drmaa2cli.commands import refusals
from drmaa2cli.models import JobInfo
from drmaa2cli.render import Output, cell_width
from tests.conftest import Cli, gate, read_line


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('session = "a"\nbakend = "docker"\n', 2, "unknown setting 'bakend'"),
        ('backend = "foo"\n', 1, "backend must be one of"),
        ('session = "no spaces"\n', 1, "session must be a session name"),
        ('session = "a"\n\n[backends.docker]\nhots = "unix:///x"\n', 4,
         "unknown setting 'hots' in [backends.docker]"),
        ('[backends.dokcer]\nhost = "x"\n', 1, "unknown backend [backends.dokcer]"),
        ('[backends.cf]\nretries = "many"\n', 2, "[backends.cf] retries must be a non-negative number"),
    ],
)
def test_a_config_file_with_an_unknown_key_or_bad_value_is_refused_by_every_command(
    cli: Cli, text: str, line: int, words: str
) -> None:
    cli.home.mkdir(mode=0o700)
    path = cli.home / "config.toml"
    path.write_text(text)
    commands = (["config"], ["status"], ["sessions"], ["submit", "--", "true"], ["submit", "-b", "process", "ls"])
    for args in commands:
        r = cli(*args)
        assert r.code == 201, (args, r.err)
        assert r.err == f"drmaa2: config file {path}, line {line}: " + r.err.split(f"line {line}: ", 1)[1]
        assert words in r.err and len(r.err.splitlines()) == 1, r.err
    assert not (cli.home / "jobs.json").exists() or "jobs" not in (cli.home / "jobs.json").read_text()


def test_a_valid_config_file_with_every_backend_setting_is_accepted(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    (cli.home / "config.toml").write_text(
        'session = "nightly"\nbackend = "process"\n[backends.docker]\nhost = "unix:///var/run/docker.sock"\n'
        "[backends.cf]\nretries = 2\npoll_max = 0.5\nrequest_timeout = 10\n"
        '[backends.gridengine]\nparallel_environment = "smp"\nvanish_grace = 30\n[backends.slurm]\n'
        '[backends.process]\ncgroup = true\n[backends.podman]\nhost = "unix:///run/podman/podman.sock"\n'
        '[backends.libdrmaa]\npreload = "/lib/x86_64-linux-gnu/libjemalloc.so.2"\n'
    )
    r = cli("config", "--json")
    assert r.code == 0, r.err
    assert r.json()["backends"]["cf"] == {"retries": 2, "poll_max": 0.5, "request_timeout": 10}


def test_every_backend_declares_its_settings_in_kinds_the_config_check_knows() -> None:
    from drmaa2cli.backends import settings_of
    from drmaa2cli.config.check import KINDS

    for name in REGISTRY:
        declared = settings_of(name)
        assert declared is not None, f"{name} declares no SETTINGS"
        assert set(declared.values()) <= set(KINDS), (name, declared)
    assert settings_of("no-such-backend") is None


def test_sessions_create_exist_ok_is_idempotent(cli: Cli) -> None:
    assert cli("sessions", "create", "nightly").code == 0
    again = cli("sessions", "create", "nightly")
    assert again.code == 205 and "already exists" in again.err
    for _ in range(2):
        r = cli("sessions", "create", "--exist-ok", "nightly")
        assert r.code == 0 and r.err == "", r.err
    assert cli("sessions", "create", "-p", "other").code == 0
    names = [s["name"] for s in cli("sessions", "--json").json()["sessions"]]
    assert names.count("nightly") == 1 and "other" in names


def test_an_empty_status_hints_at_jobs_in_other_sessions(cli: Cli) -> None:
    r = cli("status")
    assert r.code == 0 and r.err == ""  # nothing anywhere: nothing to hint at
    job = cli.submit("true", options=["--session", "nightly"])
    assert cli("wait", job).code == 0
    r = cli("status")
    assert r.code == 0
    assert r.out.split() == ["ID", "NAME", "BACKEND", "STATE", "EXIT", "SUBMITTED", "WALLCLOCK", "COMMAND"]
    assert r.err == "drmaa2: no jobs in session default; jobs in other sessions: nightly (1) " \
                    "(`--all` shows every session, `--session NAME` one)\n"
    assert cli("status", "--json").err == ""  # a script's JSON: no hint
    assert cli("status", "--session", "nightly").err == ""


def test_submit_json_of_an_array_is_the_documented_document(cli: Cli) -> None:
    r = cli("submit", "--json", "--array", "1-3", "--", "true")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["schema_version"] == 1
    assert set(doc) == {"schema_version", "jobs", "arrays"}  # as `status --json` of the array
    array_id = doc["arrays"][0]["id"]
    assert doc["arrays"][0]["tasks"] == 3
    assert [j["id"] for j in doc["jobs"]] == [f"{array_id}.{i}" for i in (1, 2, 3)]
    assert cli("wait", array_id).code == 0
    one = cli("submit", "--json", "--", "true").json()
    assert set(one) == {"schema_version", "job"}


def test_logs_shows_either_stream_or_both_and_the_tail(cli: Cli) -> None:
    script = "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done"
    job = cli.submit("sh", "-c", script)
    assert cli("wait", job).code == 0
    r = cli("logs", job)
    assert (r.code, r.out, r.err) == (0, "".join(f"out{i}\n" for i in range(1, 6)), "")
    r = cli("logs", "--stderr", job)
    assert (r.code, r.out) == (0, "".join(f"err{i}\n" for i in range(1, 6)))
    r = cli("logs", "--both", job)
    assert (r.out, r.err) == ("".join(f"out{i}\n" for i in range(1, 6)), "".join(f"err{i}\n" for i in range(1, 6)))
    r = cli("logs", "--tail", "2", "--both", job)
    assert (r.code, r.out, r.err) == (0, "out4\nout5\n", "err4\nerr5\n")
    assert cli("logs", "-n", "1", "-e", job).out == "err5\n"
    assert cli("logs", "--tail", "0", job).out == ""
    assert cli("logs", "--tail", "-1", job).code == 201
    assert cli("logs", "--stderr", "--both", job).code == 201
    # --follow with --tail: the last lines so far, then what comes
    r = cli("logs", "--follow", "--tail", "1", job)
    assert (r.code, r.out) == (0, "out5\n")


def test_logs_hints_at_stderr_when_stdout_is_empty(cli: Cli) -> None:
    job = cli.submit("sh", "-c", "echo oops >&2; exit 2")
    assert cli("wait", job).code == 2
    r = cli("logs", job)
    assert r.code == 0 and r.out == ""
    assert r.err == f"drmaa2: job {job} wrote nothing to stdout, 5 byte(s) to stderr: " \
                    f"`drmaa2 logs --stderr {job}` (or --both)\n"
    r = cli("logs", "--follow", job)
    assert r.code == 2 and "wrote nothing to stdout" in r.err
    quiet = cli.submit("true")
    assert cli("wait", quiet).code == 0
    assert cli("logs", quiet).err == ""  # nothing anywhere: nothing to hint at


def start_run(cli: Cli, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "drmaa2cli", "run", *args], env=cli.env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)



def test_run_streams_its_standard_input_to_the_job_as_it_comes(cli: Cli) -> None:
    proc = start_run(cli, "--", "sh", "-c", "while read l; do echo \"got $l\"; done; echo end")
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"one\n")
        proc.stdin.flush()
        assert read_line(proc.stdout) == b"got one\n"  # while run's stdin is still open
        proc.stdin.write(b"two\n")
        proc.stdin.close()
        assert read_line(proc.stdout) == b"got two\n"
        assert read_line(proc.stdout) == b"end\n"
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not list((cli.home / "input").iterdir())


def test_run_hold_says_it_waits_and_the_job_gets_its_input_once_released(cli: Cli) -> None:
    proc = start_run(cli, "--hold", "--", "cat")
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write(b"kept for later\n")
        proc.stdin.close()  # stdin ends before the job starts: nothing written is lost
        line = read_line(proc.stderr).decode()
        job = line.split()[2]
        assert line == f"drmaa2: job {job} is held: waiting until it is released (`drmaa2 release {job}`)\n"
        assert cli("release", job).code == 0
        proc.stdin = None  # closed above; communicate must not flush it
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (0, b"kept for later\n", b"")


def test_run_with_input_given_or_stdin_from_a_file(cli: Cli, tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.write_bytes(b"from --input\n")
    r = cli("run", "--input", str(given), "--", "cat", input="ignored\n")  # --input wins
    assert (r.code, r.out) == (0, "from --input\n")
    with open(given, "rb") as f:
        done = subprocess.run([sys.executable, "-m", "drmaa2cli", "run", "--", "cat"], env=cli.env, stdin=f,
                              capture_output=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, b"from --input\n")
    r = cli("run", "--array", "1-2", "--", "sh", "-c", "echo $DRMAA2_TASK_ID $(cat)", input="all\n")
    assert (r.code, r.out) == (0, "1 all\n2 all\n")  # each task reads the whole input, as from a file


CONTAINERS = "docker, podman and kubernetes backends, not process"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--image", "busybox"], f"--image is for the {CONTAINERS}"),
        (["--app", "worker"], "--app is for the cf backend (this job is for process: add --backend cf)"),
        (["--queue", "fast"], "the process backend cannot honour queue name fast: a local queue is set in the "
                              "config file ([queues.fast] slots = N)"),
        (["--native", "-x"], "--native is for the docker, podman, slurm, gridengine, libdrmaa and kubernetes "
                             "backends, not process"),
        (["--mount", "/tmp:/tmp"], f"--mount is for the {CONTAINERS}"),
        (["--pull"], f"--pull is for the {CONTAINERS}"),
        (["-b", "cf", "--app", "w", "--cwd", "/tmp"],
         "--cwd is for the process, docker, podman, slurm, gridengine, libdrmaa, kubernetes and remote backends, "
         "not cf"),
        (["-b", "cf", "--app", "w", "--cpus", "2"],
         "--cpus is for the process, docker, podman, slurm, gridengine and kubernetes backends, not cf"),
        (["-b", "cf", "--app", "w", "--timeout", "5s"],
         "--timeout is for the process, docker, podman, slurm, gridengine, libdrmaa, kubernetes and remote "
         "backends, not cf"),
    ],
)
def test_refusals_name_the_option_typed(cli: Cli, args: list[str], words: str) -> None:
    r = cli("submit", *args, "--", "true")
    assert (r.code, r.err) == (201, f"drmaa2: {words}\n")


def test_the_categories_backends_agree_with_the_backends_declarations() -> None:
    """The owners no declaration names (a category: --image, --app) against the backends' job_category."""
    for name in REGISTRY:
        honours = "job_category" not in backend_class(name).unsupported_fields
        assert honours == (name in refusals.owners("--category")), name
    assert set(refusals.owners("--image")) | set(refusals.owners("--app")) == set(refusals.owners("--category"))


def test_a_scheduler_s_refusal_is_quoted_whole() -> None:
    # sbatch's real answer to `--partition=nosuch` (Slurm 22.05): what is wrong, then why
    proc = subprocess.CompletedProcess(
        ["sbatch"], 1, "", "sbatch: error: invalid partition specified: nosuch\n"
        "sbatch: error: Batch job submission failed: Invalid partition name specified\n")
    assert common.message(proc) == ("sbatch: error: invalid partition specified: nosuch | "
                                    "sbatch: error: Batch job submission failed: Invalid partition name specified")
    qsub = subprocess.CompletedProcess(["qsub"], 1, "", 'Unable to run job: unknown resource "bogus"\nExiting.\n')
    assert common.message(qsub) == 'Unable to run job: unknown resource "bogus"'


def test_a_real_sbatch_refusal_reaches_the_user_whole(cli: Cli, slurm_target: dict[str, Any]) -> None:
    r = cli("submit", *slurm_target["options"], "--queue", "drmaa2-no-such-partition", "--", "true",
            env=slurm_target["env"])
    assert r.code == 201, r.err
    assert r.err.startswith("drmaa2: slurm refused the job: sbatch: error: invalid partition specified: "
                            "drmaa2-no-such-partition | "), r.err
    assert len(r.err.splitlines()) == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_tables_fit_a_terminal_and_are_whole_in_a_pipe(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "a-name-much-longer-than-a-terminal-gives-it-" * 2
    args = ["sh", "-c", "echo 'it''s' && ls -l /a/very/long/path/that/keeps/going/and/going/and/going"]
    job = cli.submit(*args, options=["--name", name])
    wide = cli.submit("echo", "日本語", options=["--name", "漢字の名前"])
    for j in (job, wide):
        assert cli("wait", j).code in (0, 2)
    # a pipe: every cell whole, the command as a shell would take it back, wide characters aligned
    lines = cli("status").out.splitlines()
    assert name in lines[1] and shlex.join(args) in lines[1]
    assert lines[2].endswith("echo '日本語'")
    assert cell_width(lines[2].split("process")[0]) == cell_width(lines[1].split("process")[0])
    # a terminal 80 columns wide: one line per job, long cells cut with …
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    jobs = [JobInfo.from_record(j) for j in _records(cli)]
    out = Terminal()
    render.jobs_table(Output(out, io.StringIO()), jobs, show_session=False)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()  # bold header, even with NO_COLOR
    assert len(shown) == 3, shown
    assert all(cell_width(line.rstrip()) <= 80 for line in shown), shown
    assert "…" in shown[1] and name not in shown[1]
    assert shown[1].split()[0] == job and shown[1].split()[3] == "failed"  # ids and states are never cut
    # JSON: whole
    doc = cli("status", "--json", job).json()["jobs"][0]
    assert doc["name"] == name and doc["command"] == args


def _records(cli: Cli) -> list[dict[str, Any]]:
    import json

    return list(json.loads((cli.home / "jobs.json").read_text())["jobs"].values())


def test_a_dependent_job_s_row_says_what_it_waits_for(cli: Cli, tmp_path: Path) -> None:
    first = cli.submit("sh", "-c", gate(tmp_path / "go"))
    second = cli.submit("true", options=["--after", first])
    third = cli.submit("true", options=["--after-any", f"{first},{second}", "--hold"])
    rows = {line.split()[0]: line for line in cli("status").out.splitlines()[1:]}
    assert "queued (after " + first + ")" in rows[second]
    assert f"queued_held (after-any {first},{second})" in rows[third]
    detail = cli("status", third).out
    assert f"after           {first}, {second} (ended, whatever the result)" in detail
    info = cli.info(second)
    assert (info["after"], info["after_mode"]) == ([first], "ok")
    assert cli.info(first)["after"] is None
    (tmp_path / "go").touch()
    assert cli("wait", second).code == 0
    assert "(after" not in cli("status").out.splitlines()[2]  # started: nothing to wait for
    assert cli("release", third).code == 0
    assert cli("wait", third).code == 0


def test_run_writes_the_job_s_stderr_as_it_comes(cli: Cli, tmp_path: Path) -> None:
    proc = start_run(cli, "--", "sh", "-c", f"echo early >&2; {gate(tmp_path / 'go')}; echo late >&2")
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.close()
    try:
        assert read_line(proc.stderr) == b"early\n"  # while the job still runs
        (tmp_path / "go").touch()
        assert read_line(proc.stderr) == b"late\n"
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

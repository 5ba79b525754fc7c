"""Working with jobs from the shell: what a person or a script types and reads (process backend, real CLI)."""

from __future__ import annotations

import pytest

from .conftest import Cli


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
    )
    r = cli("config", "--json")
    assert r.code == 0, r.err
    assert r.json()["backends"]["cf"] == {"retries": 2, "poll_max": 0.5, "request_timeout": 10}


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

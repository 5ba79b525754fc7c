"""Hostile input: arguments, environment values, names, paths and ids with quotes, newlines, ``$(...)``, globs,
control characters, unicode, bytes that are not UTF-8 and very long values. What the job is given must reach it
byte for byte (no shell unless it asks for one); what drmaa2 prints must stay one record per line and valid
JSON; what is malformed must be refused with a documented code."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from .harness import Figures, cli_env, no_traceback, one_line_error, run

NASTY: list[bytes] = [
    b"plain",
    b"",
    b" ",
    b"two words",
    b"'single'",
    b'"double"',
    b"'\"'\"'",
    b"back\\slash\\",
    b"`touch PWNED-backtick`",
    b"$(touch PWNED-dollar)",
    b"${HOME}",
    b"$HOME",
    b"; touch PWNED-semicolon",
    b"| cat /etc/passwd",
    b"&& touch PWNED-and",
    b"> PWNED-redirect",
    b"*",
    b"?",
    b"[a-z]*",
    b"~",
    b"~root/.ssh",
    b"{a,b}",
    b"line\nbreak",
    b"\n",
    b"carriage\r\nreturn",
    b"\ttab",
    b"\x1b[31mred\x1b[0m\x1b]0;title\x07",
    b"\x01\x02\x7f",
    "ünïcødé ✓".encode(),
    "\u202eevil\u202c".encode(),
    "zero\u200bwidth".encode(),
    "🙂 emoji".encode(),
    "e\u0301 combining".encode(),
    b"\xff\xfe not utf-8",
    b"\xc3\x28",
    b"\xed\xa0\x80",  # a UTF-16 surrogate encoded as UTF-8: invalid
    b"-",
    b"--",
    b"--help",
    b"-v",
    b"%A %a %j %%",
    b"$DRMAA2_INDEX$",
    b"x" * 100_000,
]

DUMP = """
import json, os, sys
out = sys.argv[1]
doc = {
    "argv": [os.fsencode(a).hex() for a in sys.argv[2:]],
    "env": {k.hex(): v.hex() for k, v in os.environb.items()},
    "cwd": os.fsencode(os.getcwd()).hex(),
}
with open(out, "w") as f:
    json.dump(doc, f)
"""


def dumped(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    return {
        "argv": [bytes.fromhex(a) for a in doc["argv"]],
        "env": {bytes.fromhex(k): bytes.fromhex(v) for k, v in doc["env"].items()},
        "cwd": bytes.fromhex(doc["cwd"]),
    }


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    script = tmp_path / "dump.py"
    script.write_text(DUMP)
    return script


def submit_wait(env: dict[str, str], *args: str | bytes, cwd: Path | None = None) -> str:
    r = run(env, "submit", "--terse", *args, cwd=cwd)
    no_traceback(r)
    assert r.code == 0, r.err
    job = r.out.strip()
    w = run(env, "wait", job)
    assert w.code == 0, w.err
    return job


def test_arguments_reach_the_job_byte_for_byte(tmp_path: Path, dump: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "argv.json"
    submit_wait(env, "--", sys.executable, str(dump), str(out), *NASTY, cwd=work)
    assert dumped(out)["argv"] == NASTY
    assert not list(work.iterdir()) and not list(tmp_path.glob("PWNED*"))  # no shell ran any of it
    figures.add("values_tried", len(NASTY))


def test_many_arguments(tmp_path: Path, dump: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    out = tmp_path / "argv.json"
    many = [f"arg{i}".encode() + NASTY[i % 40] for i in range(3000)]
    submit_wait(env, "--", sys.executable, str(dump), str(out), *many)
    assert dumped(out)["argv"] == many
    figures.add("values_tried", len(many))


def test_environment_values_reach_the_job_byte_for_byte(tmp_path: Path, dump: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    out = tmp_path / "env.json"
    values = {f"NASTY_{i}".encode(): value for i, value in enumerate(NASTY)}
    values[b"WITH_EQUALS"] = b"a=b==c"
    options: list[bytes] = []
    for key, value in values.items():
        options += [b"--env", key + b"=" + value]
    # A bare KEY copies the value from drmaa2's own environment, bytes and all.
    inherited = b"\xff inherited \n $(x)"
    env_bytes = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    proc_env = {**env_bytes, b"FROM_CALLER": inherited}
    import subprocess

    r = subprocess.run(
        [sys.executable, "-m", "drmaa2cli", "submit", "--terse", *options, "--env", "FROM_CALLER", "--",
         sys.executable, str(dump), str(out)],
        env=proc_env, capture_output=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert run(env, "wait", r.stdout.decode().strip()).code == 0
    seen = dumped(out)["env"]
    for key, value in values.items():
        assert seen[key] == value, key
    assert seen[b"FROM_CALLER"] == inherited
    figures.add("values_tried", len(values) + 1)


@pytest.mark.parametrize("key", ["", "=x", "1ABC", "A-B", "A B", "A\n", "Ä"])
def test_malformed_environment_names_are_refused(tmp_path: Path, key: str, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    r = run(env, "submit", "--env", f"{key}=1" if "=" not in key else key, "--", "true")
    assert r.code == 201, (key, r.code, r.err)
    one_line_error(r)
    figures.add("values_tried")


def test_names_are_kept_exactly_and_shown_one_per_line(tmp_path: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    ids = {}
    for value in NASTY:
        if not value:
            continue  # an empty --name means no name
        r = run(env, "submit", "--terse", "--name", value, "--", "true")
        if value == b"--":  # never an option's value: `submit -N -- true` forgot the name
            assert r.code == 201, r.err
            continue
        assert r.code == 0, (value, r.err)
        ids[r.out.strip()] = value
    figures.add("values_tried", len(ids))
    assert run(env, "wait", *ids).code == 0
    listing = run(env, "status", "--limit", "0", "--json")
    assert listing.code == 0, listing.err
    doc = json.loads(listing.out.encode("utf-8", "surrogateescape"))  # strict UTF-8 JSON
    for job in doc["jobs"]:
        assert os.fsencode(job["name"]) == ids[job["id"]]
    table = run(env, "status", "--limit", "0")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert len(lines) == 1 + len(ids), table.out[:2000]
    assert not any(ch in table.out for ch in "\x1b\x07\r\x7f\x01"), "control characters reach the terminal"
    for job_id in list(ids)[::4]:  # every fourth: the table above had them all
        detail = run(env, "status", job_id)
        assert detail.code == 0, detail.err
        assert not any(ch in detail.out for ch in "\x1b\x07\r\x7f\x01")
        assert sum(line.startswith("name ") for line in detail.out.splitlines()) == 1


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1"])
def test_output_in_any_locale_encoding(tmp_path: Path, encoding: str, figures: Figures) -> None:
    """A terminal whose encoding cannot show a name gets an escaped form, never an internal error."""
    env = cli_env(tmp_path / "home")
    job = run(env, "submit", "--terse", "--name", b"\xff caf\xc3\xa9 \xe2\x9c\x93", "--", "true").out.strip()
    assert run(env, "wait", job).code == 0
    for args in (["status"], ["status", job], ["status", "--json"], ["sessions"], ["wait", job]):
        r = run({**env, "PYTHONIOENCODING": encoding}, *args)
        assert r.code == 0, (encoding, args, r.err)
        figures.add("calls")
    doc = run({**env, "PYTHONIOENCODING": encoding}, "status", "--json", job).out
    assert json.loads(doc.encode("utf-8", "surrogateescape"))["jobs"][0]["name"] == "\udcff café ✓"


def test_paths_with_hostile_names(tmp_path: Path, dump: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    base = os.fsencode(tmp_path)
    for raw in (b"sp ace", b"new\nline", b"$(x)", b"*", "ünï ✓".encode(), b"\xff\xfe", b"-dash", b"'q\""):
        directory = base + b"/d-" + raw
        os.mkdir(directory)
        out = directory + b"/out-" + raw + b".txt"
        inp = directory + b"/in-" + raw
        with open(inp, "wb") as f:
            f.write(b"input " + raw)
        job = submit_wait(env, "--cwd", directory, "--output", out, "--input", inp, "--join", "--",
                          sys.executable, "-c",
                          "import os, sys; sys.stdout.buffer.write(os.fsencode(os.getcwd()) + b'|' + "
                          "sys.stdin.buffer.read())")
        with open(out, "rb") as f:
            assert f.read() == directory + b"|input " + raw
        logs = run(env, "logs", job)
        assert logs.code == 0 and os.fsencode(logs.out) == directory + b"|input " + raw
        figures.add("values_tried")


def test_binary_output_comes_back_byte_for_byte(tmp_path: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    code = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 64); sys.stderr.buffer.write(b'\\xff\\x00e')"
    job = submit_wait(env, "--", sys.executable, "-c", code)
    import subprocess

    for args, expected in ((["logs", job], bytes(range(256)) * 64), (["logs", "--stderr", job], b"\xff\x00e")):
        r = subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=env, capture_output=True, timeout=60)
        assert r.returncode == 0 and r.stdout == expected
    figures.add("values_tried", 2)


HOSTILE_IDS = ["1;rm -rf /", "../1", "1\n2", "\u0661", "\uff11", "1.1.1", "-1", "0x1", "1e3", "+1", "9" * 40,
               "1." + "9" * 40, "", ".", "1.", ".1", "*", "$(id)", "\xff", "01x", "1 2"]


def test_hostile_job_ids(tmp_path: Path, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    assert run(env, "submit", "--wait", "--", "true").code == 0  # job 1, ended
    for job_id in HOSTILE_IDS:
        for command in ("status", "wait", "logs", "kill", "rm"):
            r = run(env, command, job_id)
            figures.add("calls")
            assert r.code in (201, 202), (command, job_id, r.code, r.err)
            one_line_error(r)
    assert [j["id"] for j in json.loads(run(env, "status", "--json").out)["jobs"]] == ["1"]  # untouched
    # Blanks around an id are forgiven (ids pasted from other output).
    for padded in ("{} ", " {}", "{}\n", "\t{}"):
        job = run(env, "submit", "--terse", "--wait", "--", "true").out.split()[0]
        for command in ("status", "wait", "logs", "rm"):
            r = run(env, command, padded.format(job))
            figures.add("calls")
            assert r.code == 0, (command, padded, r.err)
    figures.set("ids_tried", len(HOSTILE_IDS) + 4)


@pytest.mark.parametrize("name", ["ci\n", "a b", "../x", "x/y", "", "-x", "\u0661", "ünï", "a" * 65, "$(id)", "*"])
def test_hostile_session_names_are_refused(tmp_path: Path, name: str, figures: Figures) -> None:
    env = cli_env(tmp_path / "home")
    # An empty --session or DRMAA2_SESSION means "not given" (the default session), like any empty setting.
    calls = [["sessions", "create", name]] + ([["submit", "--session", name, "--", "true"]] if name else [])
    for args in calls:
        r = run(env, *args)
        figures.add("calls")
        assert r.code == 201, (args, r.code, r.err)
        one_line_error(r)
    if name:
        r = run({**env, "DRMAA2_SESSION": name}, "submit", "--", "true")
        assert r.code == 201, r.err
        assert json.loads(run(env, "sessions", "--json").out)["sessions"] == [{"name": "default", "counts": {}}]

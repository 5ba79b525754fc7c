"""Property-based fuzzing of the CLI (hypothesis): random commands, options, option values, job ids and
environment values, each run as a real ``drmaa2`` process against one home that fills up as it goes. Whatever
comes in: no traceback, one ``drmaa2:`` line per error, and only exit codes README.md documents.

The grammar is read from the CLI itself (every command, option and flag), so new commands are fuzzed too.
Jobs only ever find harmless programs: PATH holds nothing but true, false, sh, sleep and echo, the working
directory and HOME are scratch directories, and no random value contains a slash.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from drmaa2cli.cli.app import app
from tests.conftest import until

from .conftest import current_scale
from .harness import DRMAA2_CODES, Figures, end_jobs, finished_singles

SCALE = current_scale()
# Commands that may legitimately block on a job (a held job never ends by itself).
# Commands that may rightly run until stopped: a wait on a job, `status --watch`, a server (`serve`).
BLOCKING = {"wait", "run", "logs", "status", "serve"}
BLOCKING_FLAGS = {"--wait", "-W", "--follow", "-f", "--watch", "-w"}
QUICK_JOBS = [["true"], ["false"], ["sh", "-c", "exit 3"], ["no-such-command"], ["sleep", "0.2"], ["echo", "hi"]]


@dataclass
class Grammar:
    """Every command path (``["sessions", "create"]``) with its options: (names, takes a value)."""

    commands: dict[tuple[str, ...], list[tuple[list[str], bool]]] = field(default_factory=dict)


def read_grammar() -> Grammar:
    grammar = Grammar()

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        options = [(list(p.opts) + list(p.secondary_opts), not p.is_flag and not p.count)
                   for p in cmd.params if p.param_type_name == "option"]
        grammar.commands[path] = options
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return grammar


GRAMMAR = read_grammar()
NO_NUL = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/")
CURATED = [
    "", " ", "-", "--", "-1", "0", "1", "2", "3", "1.1", "1.2", "99999999999999999999", "1e9", "nan", "inf",
    "0x10", "1,2", "1-3", "1-3%2", "5-1", "1-100000000", "1:2", "%1", "5m", "0.01s", "90", "1h", "-5s",
    "TERM", "KILL", "SIGSTOP", "0", "64", "9", "sigkill", "512m", "0g", "1.5", "-1g", "queued", "done", "FAILED",
    "default", "ci", "a b", "x" * 5000, "\n", "\t", "$(id)", "`id`", "*", "~", "'", '"', "\\", "\u0663",
    "\uff11", "\u202e", "\udcff", "A=1", "=", "A", "PATH", "HOME=x", "ünï", "1\n", "process", "cf",
]
VALUE = st.one_of(st.sampled_from(CURATED), st.text(NO_NUL, max_size=24),
                  st.binary(min_size=1, max_size=8).filter(lambda b: b"\0" not in b and b"/" not in b))
JOB_ID = st.one_of(st.integers(0, 60).map(str), st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 60),
                   st.integers(0, 5)), VALUE)


@st.composite
def invocation(draw: st.DrawFn) -> list[str | bytes]:
    """One command line: a command (now and then an unknown one), options with values, positionals."""
    if draw(st.integers(0, 30)) == 0:
        return [draw(VALUE), *draw(st.lists(VALUE, max_size=3))]
    path = draw(st.sampled_from(sorted(GRAMMAR.commands)))
    if path == ():
        path = draw(st.sampled_from([(), ("--version",), ("--help",)]))
    args: list[str | bytes] = list(path)
    options = GRAMMAR.commands.get(path, [])
    for _ in range(draw(st.integers(0, 4))):
        if options and draw(st.booleans()):
            names, takes_value = draw(st.sampled_from(options))
            name = draw(st.sampled_from(names))
            if name in ("--install-completion", "--show-completion"):
                continue  # would rewrite the shell's rc files (of the scratch HOME, still: no value in it)
            args.append(name)
            if takes_value:
                args.append(draw(VALUE))
        else:
            args.append(draw(JOB_ID) if path and path[0] != "submit" else draw(VALUE))
    if path and path[0] in ("submit", "run"):
        job = draw(st.sampled_from(QUICK_JOBS))
        if draw(st.integers(0, 4)):
            args += ["--", *job]
        else:
            args += job  # without `--`: options after the command belong to the job
    return args


ENV = st.fixed_dictionaries({}, optional={
    "DRMAA2_SESSION": VALUE.filter(lambda v: isinstance(v, str)),
    "DRMAA2_BACKEND": st.sampled_from(["process", "cf", "docker", "slurm", "", "nope", "PROCESS"]),
    "NO_COLOR": st.sampled_from(["1", ""]),
    "TERM": st.sampled_from(["dumb", "xterm-256color", ""]),
    "COLUMNS": st.sampled_from(["0", "1", "20", "400", "-3", "x"]),
    "PYTHONIOENCODING": st.sampled_from(["utf-8", "ascii", "latin-1", "utf-8:strict"]),
    "LC_ALL": st.sampled_from(["C", "C.UTF-8", "POSIX", "xx_YY.bogus", ""]),
    "TZ": st.sampled_from(["UTC", "Europe/Berlin", "bogus/zone", ""]),
    "CF_HOME": st.sampled_from(["cfhome", "", "nonexistent"]),
})


@dataclass
class Sandbox:
    root: Path
    env: dict[str, str]


def sandbox(root: Path) -> Sandbox:
    """A scratch HOME, working directory, drmaa2 home and a PATH of harmless programs."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("true", "false", "sh", "sleep", "echo"):
        found = shutil.which(name)
        assert found, name
        (bin_dir / name).symlink_to(found)
    (root / "work").mkdir()
    env = {"PATH": str(bin_dir), "HOME": str(root / "home"), "DRMAA2_HOME": str(root / "drmaa2"),
           "LANG": "C.UTF-8", "XDG_CONFIG_HOME": str(root / "home" / ".config"),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return Sandbox(root, env)


def check(box: Sandbox, args: list[str | bytes], extra: dict[str, str], figures: Figures) -> None:
    env = {**box.env, **extra}
    blocking = (args and args[0] in BLOCKING) or any(a in BLOCKING_FLAGS for a in args)
    try:
        proc = subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=env, cwd=box.root / "work",
                              capture_output=True, timeout=4 if blocking else 60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        assert blocking, f"{args!r} hung"
        figures.add("blocked_on_a_job")
        return
    figures.add("inputs_tried")
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "Traceback" not in out, (args, extra, err)
    code = proc.returncode
    figures.add(f"exit_{code}")
    job_code = bool(args) and (args[0] in ("wait", "run", "logs") or "--wait" in args or "-W" in args)
    assert code in DRMAA2_CODES or (job_code and 0 <= code <= 255), (args, extra, code, err)
    if code in range(200, 209) and code != 207:
        lines = err.strip().splitlines()
        assert lines and all(line.startswith("drmaa2: ") for line in lines), (args, extra, err)
        assert "internal error" not in err, (args, extra, err)
    if code == 0 and "--json" in args and out.strip() and asked_for_json(args):
        json.loads(proc.stdout)  # strict: the JSON contract holds whatever the input


def asked_for_json(args: list[str | bytes]) -> bool:
    """Whether the command line selects JSON output, as the CLI's own parser reads it: a ``--json`` after the
    job's command is one of the job's arguments (``submit cmd --json``), and after ``--name`` it is a name.
    Only called for command lines that exited 0, so they parse."""
    cmd: Any = typer.main.get_command(app)
    ctx = cmd.make_context("drmaa2", [os.fsdecode(a) for a in args], resilient_parsing=True)
    while hasattr(cmd, "commands") and ctx._protected_args + ctx.args:  # a group: to the subcommand named
        name, cmd, rest = cmd.resolve_command(ctx, ctx._protected_args + ctx.args)
        if cmd is None:
            return False
        ctx = cmd.make_context(name, rest, parent=ctx, resilient_parsing=True)
    return any(ctx.params.get(p.name) for p in cmd.params if "--json" in getattr(p, "opts", ()))


FUZZ_SETTINGS = settings(
    max_examples=SCALE.fuzz_examples,
    deadline=None,
    database=None,
    phases=[Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    made = sandbox(tmp_path)
    yield made
    end_jobs(made.env, made.root / "work")  # the fuzzer submits held jobs, and jobs after them


@FUZZ_SETTINGS
@given(args=invocation())
def test_fuzz_command_lines(box: Sandbox, figures: Figures, args: list[str | bytes]) -> None:
    check(box, args, {}, figures)


@FUZZ_SETTINGS
@given(args=invocation(), extra=ENV)
def test_fuzz_command_lines_and_environment(box: Sandbox, figures: Figures, args: list[str | bytes],
                                            extra: dict[str, str]) -> None:
    check(box, args, extra, figures)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox whose home holds finished, archived, held and array jobs in two sessions."""
    box = sandbox(tmp_path)
    for args in (["--wait", "--array", "1-33", "--", "true"], ["--wait", "--", "sh", "-c", "exit 2"],
                 ["--hold", "--", "true"], ["--wait", "--session", "other", "--", "true"], ["--", "true"]):
        last = subprocess.run([sys.executable, "-m", "drmaa2cli", "submit", "--terse", *args], env=box.env,
                              capture_output=True, text=True, timeout=60, cwd=box.root / "work", check=False)
    home = Path(box.env["DRMAA2_HOME"])
    finished_singles(home, 32)  # and the next write moves them to an archive shard
    subprocess.run([sys.executable, "-m", "drmaa2cli", "submit", "--wait", "--", "true"], env=box.env,
                   capture_output=True, timeout=60, cwd=box.root / "work", check=True)
    assert (home / "archive" / "000000.json").exists() and (home / "arrays" / "1.json").exists()
    # The last job ended unobserved (its record still says queued), but its shepherd must be done writing
    # before the copy: a half-renamed start or exit file broke copytree.
    ended = home / "run" / f"{last.stdout.strip()}.exit"
    until(lambda: ended.exists() and not list((home / "run").glob("*.tmp")), "the last job's exit file")
    shutil.copytree(home, box.root / "pristine", symlinks=True)
    yield box
    # The held job's shepherd waits for a release that never comes (the copies' `kill` cannot reach it: its
    # control files are looked for in this home); it outlived whole test runs before.
    end_jobs(box.env, box.root / "work")


@settings(FUZZ_SETTINGS, max_examples=max(20, SCALE.fuzz_examples // 4))
@given(data=st.data())
def test_fuzz_edited_store(filled: Sandbox, figures: Figures, data: st.DataObject) -> None:
    """A store file edited by hand (any node replaced or removed): reported and left alone, or still used."""
    # Every example starts from a copy of the same store (hypothesis replays examples).
    home = Path(tempfile.mkdtemp(prefix="home-", dir=filled.root))
    shutil.copytree(filled.root / "pristine", home, symlinks=True, dirs_exist_ok=True)
    env = {**filled.env, "DRMAA2_HOME": str(home)}
    name = data.draw(st.sampled_from(["jobs.json", "archive/000000.json", "arrays/1.json"]))
    path = home / name
    original = path.read_bytes()
    doc = json.loads(original)
    where = data.draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[where[-1]]
    else:
        parent[where[-1]] = data.draw(JSON_VALUE)
    edited = json.dumps(doc).encode()
    path.write_bytes(edited)
    calls = (["status", "--all", "--limit", "0"], ["status", "1"], ["sessions"], ["wait", "--timeout", "1", "34"],
             ["kill", "36"], ["submit", "--", "true"])
    for args in calls:
        proc = subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=env, capture_output=True,
                              timeout=60, cwd=filled.root / "work")
        err = proc.stderr.decode("utf-8", "replace")
        figures.add("inputs_tried")
        assert "Traceback" not in err and "internal error" not in err, (where, args, err)
        assert proc.returncode in DRMAA2_CODES | {2}, (where, args, proc.returncode, err)
        if proc.returncode == 206:
            assert str(path) in err and path.read_bytes() == edited, (where, args, err)  # left alone
            figures.add("edits_reported")

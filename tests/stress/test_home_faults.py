"""The drmaa2 home in trouble: a file where the directory should be, a directory drmaa2 may not write, a full
disk, store and config files edited into invalid JSON or TOML. Each gives one clear line with a documented exit
code, loses no record and never overwrites the broken file. Everything drmaa2 writes is 0700 or 0600."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.requires import command, unavailable

from .harness import Figures, cli_env, finished_singles, one_line_error, read_store, run

# Commands that read or write the store, with what they may exit with when the home is fine.
EVERY_COMMAND = [
    ["submit", "--", "true"],
    ["status"],
    ["status", "--all", "--json"],
    ["status", "1"],
    ["wait", "--timeout", "5", "1"],
    ["kill", "1"],
    ["hold", "1"],
    ["logs", "1"],
    ["rm", "1"],
    ["rm", "--finished"],
    ["sessions"],
    ["sessions", "create", "x"],
    ["config"],
]


def unprivileged() -> list[str]:
    """A prefix that makes the CLI obey file permissions. As root, that is root without capabilities
    (setpriv clears the bounding set: no CAP_DAC_OVERRIDE, so owner bits apply): a user account such as
    nobody often cannot even reach this interpreter (a venv under /root)."""
    if os.geteuid() != 0:
        return []
    setpriv = command("setpriv", "util-linux")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


def run_as(prefix: list[str], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "drmaa2cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def snapshot(home: Path) -> dict[str, bytes]:
    """The store and output files (run/ is the shepherds' own, and changes as jobs run)."""
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*"))
            if p.is_file() and p.name != "lock" and p.parent.name != "run"}


def test_home_is_a_file(tmp_path: Path, figures: Figures) -> None:
    target = tmp_path / "afile"
    target.write_bytes(b"precious")
    for home in (target, target / "below"):
        env = cli_env(home)
        for args in EVERY_COMMAND:
            r = run(env, *args)
            figures.add("calls")
            assert r.code in (0, 206), (home, args, r.code, r.err)  # 0: nothing to read, nothing written
            if r.code:
                one_line_error(r)
                assert "not a directory" in r.err, r.err
        assert run(env, "submit", "--", "true").code == 206
    assert target.read_bytes() == b"precious"


def test_unwritable_home(tmp_path: Path, figures: Figures) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    done = run(env, "submit", "--terse", "--", "true").out.strip()
    running = run(env, "submit", "--terse", "--", "sleep", "1").out.strip()
    assert run(env, "wait", done).code == 0
    before = snapshot(home)
    home.chmod(0o500)
    nobody = unprivileged()
    try:
        r = run_as(nobody, env, "submit", "--", "true")
        assert r.returncode == 206 and "Permission denied" in r.stderr and str(home) in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
        # Reading still works, also when a job's new state cannot be written down.
        r = run_as(nobody, env, "wait", running)
        assert r.returncode == 0, r.stderr
        assert "cannot record" in r.stderr
        r = run_as(nobody, env, "status", "--json")
        assert r.returncode == 0, r.stderr
        assert {j["id"]: j["state"] for j in json.loads(r.stdout)["jobs"]} == {done: "done", running: "done"}
        figures.add("calls", 3)
        assert snapshot(home) == before  # nothing lost or changed
    finally:
        home.chmod(0o700)
    assert run(env, "status", running).code == 0
    assert {j["id"] for j in json.loads(run(env, "status", "--json").out)["jobs"]} == {done, running}


@pytest.mark.parametrize("sub", ["run", "output"])
def test_unwritable_run_or_output_directory(tmp_path: Path, sub: str, figures: Figures) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    assert run(env, "submit", "--wait", "--", "true").code == 0
    (home / sub).chmod(0o500)
    try:
        r = run_as(unprivileged(), env, "submit", "--", "true")
        figures.add("calls")
        assert r.returncode == 206, (r.returncode, r.stderr)
        assert str(home / sub) in r.stderr and "Permission denied" in r.stderr
    finally:
        (home / sub).chmod(0o700)
    assert [j["id"] for j in json.loads(run(env, "status", "--json").out)["jobs"]] == ["1"]  # no record


def test_missing_home_below_an_unwritable_directory(tmp_path: Path) -> None:
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    env = cli_env(parent / "home")
    r = run_as(unprivileged(), env, "submit", "--", "true")
    assert r.returncode == 206 and "cannot create" in r.stderr and "Permission denied" in r.stderr, r.stderr
    r = run_as(unprivileged(), env, "status")
    assert r.returncode == 0, r.stderr  # nothing there yet: an empty list, nothing created
    assert not (parent / "home").exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of our own, so that filling it up harms nobody."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a small tmpfs needs root")
    command("mount", "mount")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", f"drmaa2-{uuid.uuid4().hex[:6]}",
                        str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to make room again)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    with pytest.raises(OSError) as err, open(disk / "probe", "wb") as probe:
        probe.write(b"x" * 4096)
        probe.flush()
        os.fsync(probe.fileno())
    assert err.value.errno == errno.ENOSPC
    (disk / "probe").unlink(missing_ok=True)
    return filler


def test_full_disk(small_disk: Path, figures: Figures) -> None:
    home = small_disk / "home"
    env = cli_env(home)
    first = run(env, "submit", "--terse", "--", "true").out.strip()
    assert run(env, "wait", first).code == 0
    across = run(env, "submit", "--terse", "--", "sh", "-c", "sleep 1; exit 3").out.strip()  # runs on
    assert run(env, "status", across).code == 0
    before = (home / "jobs.json").read_bytes()
    filler = fill(small_disk)
    figures.add("faults_injected")
    for args in (["submit", "--", "true"], ["submit", "--array", "1-3", "--", "true"],
                 ["sessions", "create", "new"]):
        r = run(env, *args)
        figures.add("calls")
        assert r.code == 206, (args, r.code, r.err)
        one_line_error(r)
        assert "No space left on device" in r.err
    assert (home / "jobs.json").read_bytes() == before  # never half-written
    # The job that was running when the disk filled up still gets its exit status recorded and waited for.
    r = run(env, "wait", across)
    assert r.code == 3, r.err
    listing = run(env, "status", "--json")
    assert listing.code == 0, listing.err
    states = {j["id"]: (j["state"], j["exit_status"]) for j in json.loads(listing.out)["jobs"]}
    assert states == {first: ("done", 0), across: ("failed", 3)}
    filler.unlink()
    assert run(env, "submit", "--wait", "--", "true").code == 0
    assert read_store(home).ids == {first, across, "3"}
    assert not list(home.rglob("*.tmp"))


BROKEN = {
    "jobs.json": b'{"_meta": {"1": {"schema_version": 1, "next_job": 2}}, "jobs": {"1": {"id": "1", ',
    "archive/000000.json": b'{"_meta": {"1": {"schema_version": 1}}, "jobs": [',
    "arrays/1.json": b'{"_meta": {"1": {"schema_version": 1}}, "jobs": {"1": ',
    "config.toml": b'session = "unterminated\n[backends.cf\n',
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_files_are_reported_and_never_overwritten(tmp_path: Path, name: str, figures: Figures) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    array = run(env, "submit", "--terse", "--array", "1-40", "--", "true").out.strip()
    assert run(env, "wait", array).code == 0
    finished_singles(home, 32)
    run(env, "submit", "--wait", "--", "true")  # a write that moves the finished ones to the archive
    assert (home / "archive" / "000000.json").exists() and (home / "arrays" / f"{array}.json").exists()
    path = home / name
    path.write_bytes(BROKEN[name])
    for args in [*EVERY_COMMAND, ["status", "--limit", "0"], ["wait", "2"], ["submit", "--wait", "--", "true"]]:
        r = run(env, *args)
        figures.add("calls")
        if r.code == 0:
            continue  # a command that never needs that file
        one_line_error(r)
        assert r.code in (201, 206), (args, r.code, r.err)
        assert str(path) in r.err, (args, r.err)
        assert path.read_bytes() == BROKEN[name], f"{args} overwrote {name}"
    assert path.read_bytes() == BROKEN[name]
    figures.add("files_broken")


def test_broken_supervisor_files_resolve_the_job(tmp_path: Path) -> None:
    """A start or exit file cut off (a disk that filled up, an editor): the job is not left hanging."""
    home = tmp_path / "home"
    env = cli_env(home)
    job = run(env, "submit", "--terse", "--", "true").out.strip()
    exit_file = home / "run" / f"{job}.exit"
    assert run(env, "wait", job).code == 0
    job2 = run(env, "submit", "--terse", "--", "sh", "-c", "exit 4").out.strip()
    exit2 = home / "run" / f"{job2}.exit"
    from .harness import wait_for

    assert wait_for(exit2.exists, 20)
    exit2.write_bytes(b'{"exit_status": ')
    r = run(env, "wait", "--timeout", "20", job2)
    assert r.code == 207, (r.code, r.err)  # exit status unreadable: ended without one, and said so
    info = json.loads(run(env, "status", "--json", job2).out)["jobs"][0]
    assert info["state"] == "failed" and "supervisor" in info["annotation"]
    assert exit_file.exists()


def test_everything_drmaa2_writes_is_private(tmp_path: Path, figures: Figures) -> None:
    home = tmp_path / "a" / "b" / "home"  # parents drmaa2 has to create too
    env = cli_env(home)
    old = os.umask(0)  # the most permissive umask a user can have
    try:
        ids = [run(env, "submit", "--terse", "--", "sh", "-c", "echo out; echo err >&2").out.strip()]
        ids.append(run(env, "submit", "--terse", "--array", "1-36", "--join", "--", "true").out.strip())
        ids.append(run(env, "submit", "--terse", "--hold", "--", "true").out.strip())
        assert run(env, "kill", ids[-1]).code == 0
        assert run(env, "wait", *ids).code != 124
        assert run(env, "sessions", "create", "extra").code == 0
        assert run(env, "submit", "--wait", "--", "true").code == 0  # archives the finished jobs
        assert run(env, "rm", ids[0]).code == 0
    finally:
        os.umask(old)
    assert (home / "arrays").is_dir() and (home / "output").is_dir() and (home / "run").is_dir()
    checked = 0
    for path in [tmp_path / "a", tmp_path / "a" / "b", home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
        checked += 1
    figures.set("paths_checked", checked)


def test_relative_home(tmp_path: Path) -> None:
    """DRMAA2_HOME=relative/dir is taken from where drmaa2 was called, also by a job that runs elsewhere."""
    (tmp_path / "elsewhere").mkdir()
    env = cli_env(Path("relhome"))
    r = run(env, "submit", "--wait", "--terse", "--cwd", str(tmp_path / "elsewhere"), "--", "sh", "-c", "echo hi",
            cwd=tmp_path)
    assert r.code == 0, r.err
    info = json.loads(run(env, "status", "--json", r.out.split()[0], cwd=tmp_path).out)["jobs"][0]
    assert info["output_path"] == str(tmp_path / "relhome" / "output" / "1.out")
    assert (tmp_path / "relhome" / "output" / "1.out").read_text() == "hi\n"
    assert not (tmp_path / "elsewhere" / "relhome").exists()

"""Which containment a process job gets (cgroup, subreaper, process group), decided on made-up cgroup trees (v2
delegation cannot be exercised here: these machines mount cgroup v1), the subreaper's primitives, and what the
subreaper and the process group give an array and a job (as root, cgroups turned off)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from drmaa2cli.backends import BackendContext
from drmaa2cli.backends.contract import modes_table
from drmaa2cli.backends.process import CONTAINMENT, cgroup
from drmaa2cli.backends.process.backend import GRACE_SECONDS, SHEPHERD, ProcessBackend

from ..conftest import Cli, until
from .test_containment_as_user import gone_within, processes_running, token

V2 = "cgroup2 {root} cgroup2 rw,nsdelegate 0 0\n"
SESSION = "0::/user.slice/user-1000.slice/session-3.scope\n"
DELEGATED = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-u7.scope\n"


def v2_tree(root: Path) -> None:
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    for own in (SESSION, DELEGATED):
        (root / own[4:].strip()).mkdir(parents=True)


def only_under(prefix: Path) -> Callable[[str], bool]:
    """``writable`` as systemd's delegation leaves it: the user may write only below ``prefix``."""
    return lambda path: Path(path).is_relative_to(prefix)


def test_a_delegated_v2_subtree_is_used_without_root(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    service = tmp_path / "user.slice/user-1000.slice/user@1000.service"
    plan = cgroup.locate(V2.format(root=tmp_path), DELEGATED, root=False, writable=only_under(service))
    assert not isinstance(plan, str), plan
    assert plan["base"] == {"": str(service / "app.slice" / "drmaa2")}
    assert cgroup.mode(plan, subreaper=True) == "cgroup"
    described = cgroup.describe(plan, subreaper=True)
    assert described == f"cgroup v2 (memory, cpu, pids) under {service / 'app.slice' / 'drmaa2'}"


def test_a_login_session_s_scope_gets_the_subreaper(tmp_path: Path) -> None:
    # The session scope's parent (user-1000.slice) belongs to root: the shepherd could not move itself.
    v2_tree(tmp_path)
    service = tmp_path / "user.slice/user-1000.slice/user@1000.service"
    reason = cgroup.locate(V2.format(root=tmp_path), SESSION, root=False, writable=only_under(service))
    slice_ = tmp_path / "user.slice" / "user-1000.slice"
    assert reason == f"cgroup v2 without a delegated subtree ({slice_} is not writable)"
    assert cgroup.mode(reason, subreaper=True) == "subreaper"
    assert cgroup.describe(reason, subreaper=True) == f"subreaper ({reason})"
    assert cgroup.describe(reason, subreaper=False) == f"process group ({reason})"
    # The parent writable but its cgroup.procs not (a directory made by hand, not delegated): no cgroup either.
    parent = service / "app.slice"
    (parent / "cgroup.procs").write_text("")
    closed = cgroup.locate(V2.format(root=tmp_path), DELEGATED, root=False,
                           writable=lambda path: path == str(parent))
    assert isinstance(closed, str) and closed.startswith("cgroup v2 without a delegated subtree"), closed


def test_v1_without_root_gets_the_subreaper(tmp_path: Path) -> None:
    mounts = "".join(f"cgroup {tmp_path}/{n} cgroup rw,{n} 0 0\n" for n in ("cpu", "cpuacct", "memory"))
    own = "4:memory:/x\n2:cpuacct:/\n1:cpu:/\n0::/\n"
    reason = cgroup.locate(mounts, own, root=False, writable=lambda path: False)
    assert reason == f"cgroup v1 cpu hierarchy not writable ({tmp_path}/cpu)"
    assert cgroup.mode(reason, subreaper=True) == "subreaper"


def test_every_mode_is_declared_for_the_readme(tmp_path: Path) -> None:
    assert set(CONTAINMENT) == {cgroup.mode({}, True), cgroup.mode("", True), cgroup.mode("", False)}
    table = modes_table([("process", CONTAINMENT), ("docker", {})])
    assert [line.split(" | ")[0] for line in table.splitlines()[2:]] == [
        "| **process: cgroup**", "| **process: subreaper**", "| **process: process group**"]
    assert modes_table([("docker", {})]) == ""
    off = {"cgroup": False, "subreaper": False}
    backend = ProcessBackend(BackendContext(tmp_path, settings=off))
    assert backend.mode() == "process group"
    assert backend.setup() == {"containment": "process group (cgroups turned off in the config file)"}
    assert ProcessBackend(BackendContext(tmp_path, settings={"cgroup": False})).mode() == "subreaper"


def test_orphans_come_back_to_the_subreaper_and_are_found_by_task() -> None:
    # A lean interpreter as the shepherd's: the module must work under -I -S with built-ins only.
    code = f"""if True:
        import os, sys
        sys.path.insert(0, {str(SHEPHERD.parent.parent)!r})
        from process import subreaper
        assert subreaper.become() is None
        env = dict(os.environ, DRMAA2_TASK_ID="2")
        pid = os.posix_spawnp("sh", ["sh", "-c", "setsid sleep 61 & (sleep 62 &)"], env)
        os.waitpid(pid, 0)
        orphans = subreaper.children(os.getpid())
        mine = subreaper.members(os.getpid(), None, "2", set(), False)
        theirs = subreaper.members(os.getpid(), None, "1", set(), False)
        print(len(orphans), sorted(orphans) == sorted(mine), theirs)
        assert subreaper.signal(mine, 9) == 2
        for _ in mine:
            os.wait()
        print(subreaper.children(os.getpid()))
    """
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.split("\n")[:2] == ["2 True []", "[]"], out.stderr


def no_cgroups(cli: Cli, subreaper: bool = True) -> None:
    cli.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    extra = "" if subreaper else "subreaper = false\n"
    (cli.home / "config.toml").write_text(f"[backends.process]\ncgroup = false\n{extra}")


def test_an_array_task_s_orphans_end_with_it_not_with_its_sibling(cli: Cli, tmp_path: Path) -> None:
    no_cgroups(cli)
    tok = token()
    script = (f'setsid sleep {tok}$DRMAA2_TASK_ID & echo $! > {tmp_path}/pid$DRMAA2_TASK_ID; '
              f'[ "$DRMAA2_TASK_ID" = 1 ] && exit 0; '
              f'i=0; while [ ! -e {tmp_path}/go ] && [ $i -lt 6000 ]; do sleep 0.05; i=$((i+1)); done')
    array = cli.submit("sh", "-c", script, options=["--array", "1-2"])
    cli.until_state(f"{array}.1", "done")
    ended = time.time()
    until(lambda: (tmp_path / "pid2").exists(), "task 2 started its child")
    gone_within(f"{tok}1", ended, "end")
    assert processes_running(f"{tok}2"), "task 2's child ended with task 1"
    (tmp_path / "go").touch()
    assert cli("wait", array).code == 0
    gone_within(f"{tok}2", time.time(), "end")


def test_a_process_group_alone_lets_a_setsid_child_outlive_the_job(cli: Cli, tmp_path: Path) -> None:
    no_cgroups(cli, subreaper=False)
    tok = token()
    job = cli.submit("sh", "-c", f"setsid sleep {tok} & echo $! > {tmp_path}/pid")
    assert cli("wait", job).code == 0
    start = (cli.home / "run" / f"{job}.start").read_text()
    assert '"subreaper":false' in start, start
    pid = int((tmp_path / "pid").read_text())
    try:
        assert processes_running(tok) == [pid]  # as the README's table says of this mode
    finally:
        os.kill(pid, 9)
    assert GRACE_SECONDS == 5.0  # the README's table quotes it


def test_an_orphan_s_task_is_read_again_while_its_environment_reads_empty() -> None:
    """An orphan caught in the middle of execve shows an empty environment; one with none of its own (env -i)
    is given EXEC_PATIENCE once and then taken for what it is."""
    from drmaa2cli.backends.process import subreaper

    marked = subprocess.Popen(["sleep", "30"], env={"DRMAA2_TASK_ID": "7"})
    bare = subprocess.Popen(["env", "-i", "sleep", "30"])
    try:
        until(lambda: subreaper.task_mark(marked.pid) == "7", "the marked child ran sleep")
        until(lambda: Path(f"/proc/{bare.pid}/cmdline").read_bytes().startswith(b"sleep"), "env -i ran sleep")
        assert subreaper.settled_mark(marked.pid) == "7"
        started = time.monotonic()
        assert subreaper.settled_mark(bare.pid) == ""
        assert time.monotonic() - started >= subreaper.EXEC_PATIENCE
        started = time.monotonic()
        assert subreaper.settled_mark(bare.pid) == ""
        assert time.monotonic() - started < subreaper.EXEC_PATIENCE  # not waited for twice
    finally:
        for child in (marked, bare):
            child.kill()
            child.wait()

"""The process backend's cgroups: where they go (v1 and v2, on made-up trees), and on this machine's real
cgroups (v1 here) that limits hold, an OOM kill is named, and a job's cgroup is gone after it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drmaa2cli.backends import ending
from drmaa2cli.backends.process import cgroup, journal, shepherd
from tests.conftest import Cli, until
from tests.requires import unavailable

OWN_V1 = "9:name=systemd:/\n8:pids:/a/b\n6:freezer:/a/b\n4:memory:/a/b\n2:cpu,cpuacct:/a/b\n0::/\n"


def v1_mounts(root: Path) -> str:
    lines = [f"tmpfs {root} tmpfs rw 0 0"]
    for name, options in (("cpu,cpuacct", "rw,cpu,cpuacct"), ("memory", "rw,memory"), ("pids", "rw,pids"),
                          ("freezer", "rw,freezer"), ("systemd", "rw,name=systemd")):
        lines.append(f"cgroup {root}/{name} cgroup {options} 0 0")
    lines.append(f"cgroup2 {root}/unified cgroup2 rw 0 0")  # hybrid: v2 mounted, but without controllers
    return "\n".join(lines) + "\n"


def test_v1_jobs_go_under_the_submitter_s_own_cgroup_of_each_hierarchy(tmp_path: Path) -> None:
    for name in ("cpu,cpuacct/a/b", "memory/a/b", "pids/a/b", "freezer/a/b", "unified"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    plan = cgroup.locate(v1_mounts(tmp_path), OWN_V1, root=True)
    assert not isinstance(plan, str), plan
    assert plan["v"] == 1
    shared = str(tmp_path / "cpu,cpuacct" / "a" / "b")
    assert plan["home"] == {"cpu": shared, "cpuacct": shared, "memory": str(tmp_path / "memory/a/b"),
                            "pids": str(tmp_path / "pids/a/b"), "freezer": str(tmp_path / "freezer/a/b")}
    assert plan["base"] == {k: f"{v}/drmaa2" for k, v in plan["home"].items()}
    # cpu and cpuacct share one directory: the job gets it once.
    assert cgroup.dirs(plan, "x-1") == [f"{shared}/drmaa2/x-1", *(str(tmp_path / n / "a/b/drmaa2/x-1")
                                                                   for n in ("memory", "pids", "freezer"))]
    assert cgroup.describe(plan).startswith("cgroup v1 (memory, cpuacct; cpu for --cpus) under ")


def test_v1_without_the_memory_hierarchy_falls_back_to_the_process_group(tmp_path: Path) -> None:
    mounts = "".join(line + "\n" for line in v1_mounts(tmp_path).splitlines() if "memory" not in line)
    reason = cgroup.locate(mounts, OWN_V1, root=True)
    assert reason == "no cgroup hierarchy with the memory controller"
    assert cgroup.describe(reason) == "process group (no cgroup hierarchy with the memory controller)"


def test_v2_as_root_uses_drmaa2_at_the_root_and_enables_the_controllers(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    (tmp_path / "user.slice" / "s.scope").mkdir(parents=True)
    mounts = f"cgroup2 {tmp_path} cgroup2 rw,nsdelegate 0 0\n"
    plan = cgroup.locate(mounts, "0::/user.slice/s.scope\n", root=True)
    home = str(tmp_path / "user.slice/s.scope")
    assert plan == {"v": 2, "base": {"": str(tmp_path / "drmaa2")}, "home": {"": home}}
    (tmp_path / "drmaa2").mkdir()
    (tmp_path / "drmaa2" / "cgroup.subtree_control").write_text("")
    cgroup.prepare(plan)  # on a real cgroupfs a write adds controllers; here the file keeps the last one
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    assert (tmp_path / "drmaa2" / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    assert cgroup.dirs(plan, "x-3.2") == [str(tmp_path / "drmaa2" / "x-3.2")]
    assert cgroup.controller_dir(plan, "x-3.2", "cpuacct") == str(tmp_path / "drmaa2" / "x-3.2")


def test_v2_unprivileged_needs_a_writable_parent_a_delegated_subtree(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    delegated = tmp_path / "user.slice" / "user@1000.service" / "app.slice"
    (delegated / "term.scope").mkdir(parents=True)
    mounts = f"cgroup2 {tmp_path} cgroup2 rw 0 0\n"
    own = "0::/user.slice/user@1000.service/app.slice/term.scope\n"
    plan = cgroup.locate(mounts, own, root=False)
    assert not isinstance(plan, str)
    assert plan["base"] == {"": str(delegated / "drmaa2")}
    at_root = cgroup.locate(mounts, "0::/\n", root=False)
    assert isinstance(at_root, str) and at_root.startswith("cgroup v2 without a delegated subtree")


def test_v2_limits_and_figures_are_read_from_their_files(tmp_path: Path) -> None:
    plan = {"v": 2, "base": {"": str(tmp_path)}, "home": {"": str(tmp_path)}}
    paths = cgroup.create(plan, "j", memory=100 * 2**20, cpus=1.5)
    job = Path(paths[0])
    assert (job / "memory.max").read_text() == str(100 * 2**20)
    assert (job / "cpu.max").read_text() == "150000 100000"
    (job / "cpu.stat").write_text("usage_usec 1250000\nuser_usec 1000000\nsystem_usec 250000\n")
    (job / "memory.peak").write_text("209715200\n")
    (job / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cgroup.usage(plan, "j") == (1.25, 204800, True)


def test_mount_points_with_spaces_are_unescaped() -> None:
    v2, v1 = cgroup.parse_mounts("cgroup /sys/fs/my\\040cg cgroup rw,memory 0 0\n")
    assert (v2, v1) == (None, {"memory": "/sys/fs/my cg"})


# --- on this machine's cgroups -------------------------------------------------------------------------------
@pytest.fixture
def contained(cli: Cli) -> Cli:
    r = cli("config", "--json")
    assert r.code == 0, r.err
    containment = r.json()["setup"]["process"]["containment"]
    if not containment.startswith("cgroup"):
        unavailable(f"no cgroup for jobs here: {containment}")
    return cli


def job_cgroups(cli: Cli) -> list[str]:
    plan = cgroup.here(os.geteuid() == 0)
    assert not isinstance(plan, str)
    return [name for base in plan["base"].values() if os.path.isdir(base) for name in os.listdir(base)
            if os.path.isdir(os.path.join(base, name))]


def test_memory_limit_stops_a_job_that_allocates_more_and_says_out_of_memory(contained: Cli) -> None:
    job = contained.submit("python3", "-c", "b = bytearray(200 * 2**20); print('survived')",
                           options=["--memory", "100m"])
    assert contained("wait", job).code == 137
    info = contained.info(job)
    assert (info["state"], info["signal"]) == ("failed", 9)
    assert info["annotation"] == "out of memory: OOM killed (memory limit 100 MiB)"
    assert contained("logs", job).out == ""
    assert info["max_rss"] <= 100 * 1024


def test_the_same_job_without_a_limit_survives(contained: Cli) -> None:
    job = contained.submit("python3", "-c", "b = bytearray(200 * 2**20); print('survived')")
    assert contained("wait", job).code == 0
    assert contained("logs", job).out == "survived\n"


def test_cpu_limit_holds_the_job_to_its_share(contained: Cli) -> None:
    # Busy for 3 s of wall-clock time under a quota of half a CPU: it gets about 1.5 s of CPU, never 3.
    code = "import time\nt = time.time()\nwhile time.time() - t < 3: pass\nprint(time.process_time())"
    job = contained.submit("python3", "-c", code, options=["--cpus", "0.5"])
    assert contained("wait", job).code == 0
    used = float(contained("logs", job).out)
    assert used < 2.0, used
    assert contained.info(job)["cpu_time"] == pytest.approx(used, rel=0.1)


def test_a_job_s_cgroup_is_removed_after_it(contained: Cli) -> None:
    job = contained.submit("sh", "-c", "sleep 60 & grep -m1 -E ':memory:|^0::' /proc/self/cgroup; exit 0")
    assert contained("wait", job).code == 0
    # It ran in a cgroup of its own (SHEPHERD_PID-SLOT, named in its start record), which is gone after it.
    line = contained("logs", job).out.strip()
    name = line.rpartition("/")[2]
    start = json.loads((contained.home / "run" / f"{job}.start").read_text())
    assert f"/drmaa2/{name}" in line and start["cgroup"].endswith(f"/drmaa2/{name}"), (line, start)
    until(lambda: name not in job_cgroups(contained), f"the cgroup {name} removed")


def test_an_array_s_tasks_share_a_cgroup_in_turn_each_with_figures_of_its_own(contained: Cli) -> None:
    # One at a time (%1): each task runs in the cgroup its predecessor left, reset; a task that allocates
    # 60 MiB then one that does not.
    code = "import os, sys; b = bytearray(60 * 2**20 if os.environ['DRMAA2_TASK_ID'] == '1' else 0)"
    job = contained("submit", "--terse", "--array", "1-2%1", "--", "python3", "-c", code).out.strip()
    assert contained("wait", job).code == 0
    first, second = (contained.info(f"{job}.{i}") for i in (1, 2))
    records = journal.read(str(contained.home / "run" / f"{job}.journal"))  # an array's tasks' records
    assert records is not None
    cgroups = {records[f"{job}.{i}"][0]["cgroup"] for i in (1, 2)}
    assert len(cgroups) == 1, cgroups
    assert first["max_rss"] >= 60 * 1024 > 3 * second["max_rss"], (first["max_rss"], second["max_rss"])
    assert 0 < second["cpu_time"] < first["cpu_time"] + 1
    until(lambda: not {c.rpartition("/")[2] for c in cgroups} & set(job_cgroups(contained)), "the cgroup removed")


def test_a_task_joins_only_the_hierarchies_of_its_figures_and_limits() -> None:
    homes = {n: f"/cg/{n}/a" for n in ("memory", "cpu", "cpuacct", "pids", "freezer")}
    plan = {"v": 1, "base": {n: f"{h}/drmaa2" for n, h in homes.items()}, "home": homes}
    slim = cgroup.needed(plan, None)
    assert set(slim["base"]) == set(slim["home"]) == {"memory", "cpuacct"}
    assert set(cgroup.needed(plan, 0.5)["base"]) == {"memory", "cpuacct", "cpu"}
    v2 = {"v": 2, "base": {"": "/cg/drmaa2"}, "home": {"": "/cg/a"}}
    assert cgroup.needed(v2, 0.5) == v2 and cgroup.recycle(v2, "x") is None


def test_refused_limits_say_why_in_one_line(cli: Cli) -> None:
    r = cli("submit", "--disk", "1g", "--", "true")
    assert (r.code, r.err.count("\n")) == (201, 1), r.err
    assert r.err == "drmaa2: the process backend cannot honour a disk limit\n"
    cli.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (cli.home / "config.toml").write_text("[backends.process]\ncgroup = false\n")
    r = cli("config", "--json")
    assert r.json()["setup"]["process"]["containment"] == "subreaper (cgroups turned off in the config file)"
    r = cli("submit", "--memory", "10m", "--", "true")
    assert (r.code, r.err) == (201, "drmaa2: the process backend cannot honour --memory without a cgroup "
                                    "(cgroups turned off in the config file)\n")


def test_the_shepherd_words_an_oom_kill_as_the_shared_ending_does() -> None:
    for limit in (None, 100 * 2**20, 3 * 2**30):
        assert shepherd.out_of_memory(limit) == ending.out_of_memory(limit)


def test_without_a_cgroup_jobs_run_in_their_process_group_with_wait4_s_figures(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (cli.home / "config.toml").write_text("[backends.process]\ncgroup = false\n")
    job = cli.submit("python3", "-c", "b = bytearray(50 * 2**20)")
    assert cli("wait", job).code == 0
    info = cli.info(job)
    assert info["max_rss"] >= 50 * 1024 and info["cpu_time"] is not None
    start = json.loads((cli.home / "run" / f"{job}.start").read_text())
    assert start["cgroup"] is None

"""The third round's targets (issue #28): 16-20 and 23. Targets 21 and 22 are the test suite's wall time on a
fresh clone and a fresh machine, measured by running it (docs/performance.md says how), not here."""

from __future__ import annotations

import contextlib
import os
import shlex
import statistics
import subprocess
import time
from pathlib import Path

from .docker_target import _size_check
from .load_targets import BIG_ARRAY_TARGET, _drmaa2_flood, _jobs, judge_array
from .measure import Case, Stats
from .model import MET, NOT_MET, UNAVAILABLE, Context, Result, Row, judge_ratio

ARRAY_TARGET = 1.0  # seconds, 1,000 tasks (target 16)
BOUND_SHARE = 0.8  # target 18: of the measured CPU bound
NEIGHBOUR_RATIO = 1.2  # target 19
CONTROL_TARGET = 1.0  # seconds, target 20
PIPED_RATIO = 1.2  # target 23


def array_default(ctx: Context) -> Result:
    """Target 16: target 5's array, judged against ≤ 1 s with the default containment."""
    n = ctx.sizes.array_tasks
    result = Result(16, f"{n:,}-task array of `true`, submit → all done, default containment",
                    f"≤ {ARRAY_TARGET:g} s on 2 cores")
    return judge_array(ctx, result, n, ARRAY_TARGET)


def big_array_default(ctx: Context) -> Result:
    """Target 17: target 13's 10,000-task array, judged against ≤ 10 s (target 13 measured it when it ran)."""
    n = ctx.sizes.big_array_tasks
    result = Result(17, f"{n:,}-task array of `true`, submit → all done, default containment",
                    f"≤ {BIG_ARRAY_TARGET:g} s on 2 cores")
    return judge_array(ctx, result, n, BIG_ARRAY_TARGET)


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _cpu_per_job(ctx: Context, n: int) -> tuple[float, float | None]:
    """Milliseconds of CPU one `submit -- true` costs: (the submit itself, by getrusage of the child, median;
    the submit with its job's supervisor, per job, when a cpuacct cgroup can be made: each submit starts in
    it, and so does the supervisor it detaches, whose CPU getrusage cannot see; drmaa2 makes the job's own
    cgroup inside it, so the job, a `true`, is counted too). None when no such cgroup can be made (not root,
    or cgroup v2)."""
    home = ctx.home("bound")
    env = ctx.env(home)
    group: Path | None = CPUACCT / f"drmaa2-bench-{os.getpid()}"
    try:
        group.mkdir()  # type: ignore[union-attr]
    except OSError:
        group = None

    def enter() -> None:
        if group is not None:
            (group / "tasks").write_text(str(os.getpid()))

    own: list[float] = []
    ids = []
    try:
        for _ in range(n):
            before = os.times()
            proc = subprocess.run(ctx.cli("submit", "--terse", "--", "true"), env=env, capture_output=True,
                                  text=True, check=True, preexec_fn=enter)
            after = os.times()
            own.append((after.children_user - before.children_user + after.children_system
                        - before.children_system) * 1000)
            ids.append(proc.stdout.strip())
        subprocess.run(ctx.cli("wait", *ids), env=env, capture_output=True, check=False, timeout=300)
        whole = None
        if group is not None:
            deadline = time.monotonic() + 30
            while (group / "tasks").read_text().strip() and time.monotonic() < deadline:
                time.sleep(0.1)  # the last supervisors finishing their records
            whole = int((group / "cpuacct.usage").read_text()) / 1e6 / n
    finally:
        if group is not None:  # with the jobs' own groups that drmaa2 made inside it, deepest first
            for path in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    path.rmdir()
            with contextlib.suppress(OSError):
                group.rmdir()
    return statistics.median(own), whole


def flood_bound(ctx: Context) -> Result:
    """Target 18: target 8's flood as a share of the CPU bound measured on this machine (cores ÷ the CPU of one
    job: its submit and its supervisor)."""
    s, each = ctx.sizes.submitters, ctx.sizes.jobs_each
    result = Result(18, f"{s} × {each} concurrent submits against the CPU bound",
                    f"≥ {BOUND_SHARE:.0%} of the measured bound, 0 lost, 0 duplicates")
    own, whole = _cpu_per_job(ctx, 5 if ctx.sizes.smoke else 30)
    cores = os.cpu_count() or 1
    per_job = whole if whole is not None else own
    bound = cores * 1000 / per_job
    row = _drmaa2_flood(ctx)
    rate = float(row.data["jobs_per_second"])
    share = rate / bound
    result.rows += [Row("CPU of one `drmaa2 submit -- true` (getrusage of the child, median)",
                        value=f"{own:.1f} ms"),
                    Row("CPU of one submit and its job's supervisor (a cpuacct cgroup, mean)",
                        value="–" if whole is None else f"{whole:.1f} ms",
                        note="no cpuacct cgroup could be made: the bound counts the submit alone" if whole is None
                        else "the job, a `true`, is counted too"),
                    Row(f"bound: {cores} cores ÷ CPU per job", value=f"{bound:.1f} jobs/s"),
                    Row(row.label, value=row.value, note=row.note, data={**row.data, "share": round(share, 3)})]
    result.measured = f"{share:.0%} of {bound:.1f} jobs/s ({rate:.1f} jobs/s)"
    sound = row.data["lost"] == 0 and row.data["duplicates"] == 0 and row.data["failed"] == 0
    result.verdict = MET if sound and share >= BOUND_SHARE else NOT_MET
    return result


def _held_array(ctx: Context, home: Path, n: int, *command: str) -> str:
    return ctx.call(home, "submit", "--terse", "--hold", "--array", f"1-{n}", "--", *command).stdout.strip()


def neighbours(ctx: Context) -> Result:
    """Target 19: `submit -- true` beside a live held array of 5,000 tasks against one beside none."""
    n = 50 if ctx.sizes.smoke else 5000
    result = Result(19, f"`submit` beside {n:,} live held tasks", f"≤ {NEIGHBOUR_RATIO}× `submit` beside none")
    empty, full = ctx.home("neighbours-none"), ctx.home("neighbours-held")
    array = _held_array(ctx, full, n, "true")
    alone = Case("`drmaa2 submit -- true`, no other job", ctx.cli("submit", "--", "true"), ctx.env(empty))
    beside = Case(f"`drmaa2 submit -- true` beside {n:,} held tasks", ctx.cli("submit", "--", "true"),
                  ctx.env(full))
    try:
        ctx.measure([alone, beside])
    finally:
        for home in (empty, full):
            subprocess.run(ctx.cli("kill", "--all"), env=ctx.env(home), capture_output=True, check=False)
    result.rows = [Row.of(alone), Row.of(beside, note=f"array {array}, held")]
    judge_ratio(result, beside.wall(), alone.wall(), NEIGHBOUR_RATIO, seconds=False)
    return result


def _timed(ctx: Context, home: Path, *args: str) -> float:
    began = time.perf_counter()
    proc = subprocess.run(ctx.cli(*args), env=ctx.env(home), capture_output=True, text=True, check=False)
    took = (time.perf_counter() - began) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"drmaa2 {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return took


def array_control(ctx: Context) -> Result:
    """Target 20: `kill` of a 5,000-task held array; `hold`, `release` and `kill` of a 5,000-task array of
    `sleep` whose waiting tasks wait for a slot (the process backend runs as many at once as it has cores)."""
    n = 50 if ctx.sizes.smoke else 5000
    repeat = 1 if ctx.sizes.smoke else 3
    result = Result(20, f"control of a {n:,}-task array", f"≤ {CONTROL_TARGET:g} s each")
    times: dict[str, list[float]] = {"kill (held array)": [], "hold": [], "release": [], "kill": []}
    for rep in range(repeat):
        home = ctx.home(f"control-{rep}")
        held = _held_array(ctx, home, n, "true")
        times["kill (held array)"].append(_timed(ctx, home, "kill", held))
        live = ctx.call(home, "submit", "--terse", "--array", f"1-{n}", "--", "sleep", "600").stdout.strip()
        try:
            for verb in ("hold", "release", "kill"):
                times[verb].append(_timed(ctx, home, verb, live))
        finally:
            subprocess.run(ctx.cli("kill", "--all", "--signal", "KILL"), env=ctx.env(home), capture_output=True,
                           check=False)
            running = [j for j in _jobs(ctx, home) if j["state"] in ("running", "queued")]
            result.note = f"{len(running)} task(s) still active after the kill" if running else result.note
    for label, values in times.items():
        result.rows.append(Row(f"`drmaa2 {label.split(' ')[0]} ARRAY` ({label})", Stats.of(values)))
    worst = max(statistics.median(v) for v in times.values()) / 1000
    result.measured = f"{worst:.2f} s (the slowest median)"
    result.verdict = MET if worst <= CONTROL_TARGET else NOT_MET
    return result


def piped_run(ctx: Context) -> Result:
    """Target 23: `run -b docker` with a piped, empty standard input, as in a Makefile recipe or CI step,
    beside `docker run -i --rm` (400,000 lines, 2.7 MB, to a file)."""
    result = Result(23, "`run -b docker` with a piped stdin, 2.7 MB of output", f"≤ {PIPED_RATIO}× `docker run -i "
                    "--rm`")
    peer = ctx.peers["docker"]
    if not peer.available:
        result.verdict = UNAVAILABLE
        result.note = f"docker: {peer.reason}"
        return result
    image = ctx.docker_image or "IMAGE"
    lines = 4000 if ctx.sizes.smoke else 400_000
    size = len("".join(f"{i}\n" for i in range(1, lines + 1)))
    script = f"seq 1 {lines}"
    home = ctx.home("piped")
    theirs_out, mine_out = ctx.work / "piped-docker.out", ctx.work / "piped-drmaa2.out"
    # `true |`: a pipe that ends at once, as a recipe's or a CI step's stdin often is.
    theirs = Case(f"`true | docker run -i --rm {image} sh -c '{script}'`",
                  ["sh", "-c", f"true | docker run -i --rm {image} sh -c '{script}'"], peer.env,
                  stdout=theirs_out, check=_size_check(theirs_out, size))
    mine = Case(f"`true | drmaa2 run -b docker --image {image} -- sh -c '{script}'`",
                ["sh", "-c", f"true | {shlex.join(ctx.cli('run', '-b', 'docker', '--image', image))} -- sh -c "
                 f"'{script}'"], ctx.env(home), stdout=mine_out, check=_size_check(mine_out, size))
    try:
        ctx.measure([theirs, mine], repeat=ctx.sizes.output_repeat)
    finally:
        subprocess.run(ctx.cli("rm", "--finished", "--force"), env=ctx.env(home), capture_output=True, check=False)
        theirs_out.unlink(missing_ok=True)
        mine_out.unlink(missing_ok=True)
    result.rows = [Row.of(theirs), Row.of(mine)]
    judge_ratio(result, mine.wall(), theirs.wall(), PIPED_RATIO, seconds=True)
    return result

"""Targets 1-4 and 10: the latency and CPU time of single commands as a shell script sees it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .history import make_history, store_bytes
from .measure import Case, Stats
from .model import MET, NOT_MET, Context, Result, Row, ratio


def _verdict(ok: bool) -> str:
    return MET if ok else NOT_MET


def _peer_cases(ctx: Context, waiting: bool) -> tuple[list[Case], list[Row]]:
    """The peers' equivalent of ``submit true`` (``waiting``: of ``submit --wait true``)."""
    cases: list[Case] = []
    missing: list[Row] = []
    # The schedulers' output goes to /dev/null, as nothing is to be left in the checkout or $HOME.
    sbatch = ["sbatch", "-o", "/dev/null", *(["--wait"] if waiting else []), "--wrap", "true"]
    qsub = ["qsub", "-o", "/dev/null", "-e", "/dev/null", *(["-sync", "y"] if waiting else []), "-b", "y", "true"]
    specs = [
        ("task-spooler", ["tsp", "-f", "true"] if waiting else ["tsp", "true"]),
        ("Slurm", sbatch),
        ("Grid Engine", qsub),
    ]
    for name, argv in specs:
        peer = ctx.peers[name]
        label = f"`{' '.join(argv)}` ({name})"
        if peer.available:
            cases.append(Case(label, argv, peer.env))
        else:
            missing.append(Row.missing_peer(label, peer))
    return cases, missing


def submit_latency(ctx: Context, home: Path) -> Result:
    """Target 1: ``submit true`` into a store holding 1k records."""
    result = Result(1, "`submit` of `true`, process backend, store holding 1k records", "≤ 8× interpreter start")
    floor = ctx.floor()
    submit = Case("`drmaa2 submit true`", ctx.cli("submit", "true"), ctx.env(home))
    version = Case("`drmaa2 --version` (start-up alone)", ctx.cli("--version"), ctx.env(home))
    peers, missing = _peer_cases(ctx, waiting=False)
    # The jobs a scheduler queues run in the background after sbatch or qsub returns: interleaved, they would
    # load the machine while drmaa2 is measured, so the schedulers come after the others.
    queued = [c for c in peers if c.argv[0] in ("sbatch", "qsub")]
    ctx.measure([floor, submit, version, *(c for c in peers if c not in queued)])
    ctx.measure(queued)
    later = "timed after the others (its jobs run in the background)"
    result.rows = [Row.of(floor), Row.of(submit), Row.of(version),
                   *(Row.of(c, note=later if c in queued else "") for c in peers), *missing]
    r, cpu_r = ratio(submit.wall(), floor.wall()), ratio(submit.cpu(), floor.cpu())
    if r is not None:
        result.measured = f"{r:.1f}× (CPU time {cpu_r:.1f}×)" if cpu_r else f"{r:.1f}×"
        result.verdict = _verdict(r <= 8)
    return result


def submit_wait(ctx: Context, home: Path) -> Result:
    """Target 2: ``submit --wait -- true``, beside the peers' blocking submits."""
    result = Result(2, "`submit --wait -- true` round trip", "≤ 10× interpreter start; beside `tsp -f true`, "
                    "`sbatch --wait`, `qsub -sync y`")
    floor = ctx.floor()
    case = Case("`drmaa2 submit --wait -- true`", ctx.cli("submit", "--wait", "--", "true"), ctx.env(home))
    peers, missing = _peer_cases(ctx, waiting=True)
    ctx.measure([floor, case, *peers])
    result.rows = [Row.of(floor), Row.of(case), *map(Row.of, peers), *missing]
    r = ratio(case.wall(), floor.wall())
    if r is not None:
        result.measured = f"{r:.1f}×"
        result.verdict = _verdict(r <= 10)
    return result


def exit_to_wait(ctx: Context, home: Path) -> Result:
    """Target 3: from the job's exit to ``drmaa2 wait`` (already waiting in another process) returning.

    The job's last act is ``date +%s%N`` (exec'd, so the timestamp is taken just before the job exits); the
    harness notes the time when the wait process has exited. A sample where wait started less than 0.3 s
    before the job ended is dropped: wait was then still starting up, not waiting."""
    result = Result(3, "job exit → `wait` returns", "≤ 20 ms")
    env = ctx.env(home)
    samples: list[float] = []
    dropped = 0
    for n in range(ctx.sizes.latency_repeat):
        out = home / f"latency-{n}.out"
        job = subprocess.run(ctx.cli("submit", "--terse", "--output", str(out), "--", "sh", "-c",
                                     "sleep 0.6; exec date +%s%N"),
                             env=env, capture_output=True, text=True, check=True).stdout.strip()
        spawned = time.time_ns()
        code = subprocess.run(ctx.cli("wait", job), env=env, capture_output=True, check=False).returncode
        returned = time.time_ns()
        ended = int(out.read_text().strip() or 0)
        if code != 0 or ended - spawned < 300_000_000:
            dropped += 1
            continue
        samples.append((returned - ended) / 1e6)
    if not samples:
        result.note = "no valid sample (wait was never waiting when the job ended)"
        return result
    stats = Stats.of(samples)
    note = f"{dropped} sample(s) dropped (wait not yet waiting)" if dropped else ""
    result.rows = [Row("job exit → `drmaa2 wait` returns", stats, note=note)]
    result.measured = f"{stats.median:.1f} ms"
    result.verdict = _verdict(stats.median <= 20)
    return result


def status_listing(ctx: Context) -> Result:
    """Target 4: ``status`` and ``status --json`` with 1k/10k/100k finished records in the history."""
    result = Result(4, "`status` (table and `--json`) with 1k / 10k / 100k records in history",
                    "≤ 150 ms at 10k, ≤ 300 ms at 100k")
    floor = ctx.floor()
    cases: list[tuple[int, Case, Case]] = []
    for size in ctx.sizes.histories:
        home = ctx.home(f"history-{size}")
        took = make_history(home, size)
        label = f"{size // 1000}k" if size >= 1000 else str(size)
        table = Case(f"`drmaa2 status`, {label} records", ctx.cli("status"), ctx.env(home))
        as_json = Case(f"`drmaa2 status --json`, {label} records", ctx.cli("status", "--json"), ctx.env(home))
        cases.append((size, table, as_json))
        result.rows.append(Row(f"history of {label} records written through the store API",
                               value=f"{took:.2f} s, {store_bytes(home) / 2**20:.1f} MiB on disk"))
    ctx.measure([floor, *(c for _, table, as_json in cases for c in (table, as_json))])
    result.rows[:0] = [Row.of(floor)]
    limits = {10000: 150.0, 100000: 300.0}
    worst: list[str] = []
    ok = True
    for size, table, as_json in cases:
        result.rows += [Row.of(table), Row.of(as_json)]
        for case in (table, as_json):
            wall = case.wall()
            if size in limits:
                ok = ok and wall is not None and wall.median <= limits[size]
                worst.append(f"{wall.median:.0f} ms" if wall else "failed")
    if worst:
        result.measured = "10k: {} / {}; 100k: {} / {} (table / json)".format(*worst) if len(worst) == 4 else \
            ", ".join(worst)
        result.verdict = _verdict(ok)
    else:
        result.measured = "; ".join(r.wall.text() for r in result.rows if r.wall)
        result.verdict = MET if all(r.wall for r in result.rows if r.value is None) else NOT_MET
        result.note = "smoke sizes: the 10k/100k limits are not judged"
    return result


CPU_TARGET = 4.0


def _import_costs(ctx: Context, home: Path, top: int = 6) -> str:
    """Where one ``drmaa2 submit true`` spends its import time (``python -X importtime``): each module's own
    time summed by top-level package, the costliest first, and the total (``typer 9.1 ms, …; all 38.2 ms``).
    Nested imports are charged to the package that holds the module, not to the one that asked for it."""
    entry = ctx.drmaa2[1:] if Path(ctx.drmaa2[0]).resolve() == Path(ctx.python).resolve() else ctx.drmaa2
    proc = subprocess.run([ctx.python, "-X", "importtime", *entry, "submit", "true"], env=ctx.env(home),
                          capture_output=True, text=True, check=False)
    costs: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        costs[package] = costs.get(package, 0) + int(parts[0])
    if not costs:
        return f"no import times (exit {proc.returncode})"
    ranked = sorted(costs.items(), key=lambda item: -item[1])[:top]
    total = sum(costs.values()) / 1000
    return ", ".join(f"{name} {us / 1000:.1f} ms" for name, us in ranked) + f"; all {total:.1f} ms"


def submit_cpu(ctx: Context, home: Path) -> Result:
    """Target 10: the CPU time (user + system) of ``drmaa2 submit true`` against the bare interpreter's."""
    result = Result(10, "`submit` CPU time (user + system of the drmaa2 process), store holding 1k records",
                    f"≤ {CPU_TARGET:g}× `python -c pass` of the same interpreter")
    floor = ctx.floor()
    submit = Case("`drmaa2 submit true`", ctx.cli("submit", "true"), ctx.env(home))
    version = Case("`drmaa2 --version` (start-up alone)", ctx.cli("--version"), ctx.env(home))
    ctx.measure([floor, submit, version])
    result.rows = [Row.of(floor), Row.of(submit), Row.of(version),
                   Row("import time of one submit by package, own time (`python -X importtime`)",
                       value=_import_costs(ctx, home))]
    r, wall_r = ratio(submit.cpu(), floor.cpu()), ratio(submit.wall(), floor.wall())
    if r is not None:
        result.measured = f"{r:.1f}× (wall time {wall_r:.1f}×)" if wall_r else f"{r:.1f}×"
        result.verdict = _verdict(r <= CPU_TARGET)
    return result

"""Targets 5, 6 and 8: many tasks, many running jobs, many concurrent submitters."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from .measure import Case, Stats, measure
from .model import MET, NOT_MET, Context, Result, Row

MIB = 2**20


def _jobs(ctx: Context, home: Path, *ids: str) -> list[dict[str, object]]:
    args = ["status", "--json", *ids] if ids else ["status", "--json", "--all", "--limit", "0"]
    jobs: list[dict[str, object]] = json.loads(ctx.call(home, *args).stdout)["jobs"]
    return jobs


def array(ctx: Context) -> Result:
    """Target 5: submit a 1000-task array of ``true`` and wait for all of it, from a fresh home each time."""
    n = ctx.sizes.array_tasks
    result = Result(5, f"{n}-task array of `true`, submit → all done", "≤ 3 s on 2 cores; beside a Slurm array "
                    "of the same")
    totals: list[float] = []
    submits: list[float] = []
    problems: list[str] = []
    for rep in range(ctx.sizes.array_repeat):
        home = ctx.home(f"array-{rep}")
        env = ctx.env(home)
        began = time.perf_counter()
        job = subprocess.run(ctx.cli("submit", "--terse", "--array", f"1-{n}", "--", "true"), env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
        submitted = time.perf_counter()
        code = subprocess.run(ctx.cli("wait", job), env=env, capture_output=True, check=False).returncode
        ended = time.perf_counter()
        done = sum(1 for j in _jobs(ctx, home, job) if j["state"] == "done")
        if code != 0 or done != n:
            problems.append(f"run {rep + 1}: wait exited {code}, {done}/{n} tasks done")
            continue
        totals.append((ended - began) * 1000)
        submits.append((submitted - began) * 1000)
    if totals:
        result.rows.append(Row(f"`drmaa2 submit --array 1-{n} -- true` + `drmaa2 wait`", Stats.of(totals)))
        result.rows.append(Row("… of which `submit`", Stats.of(submits)))
    if problems:
        result.note = "; ".join(problems)
    slurm = ctx.peers["Slurm"]
    label = f"`sbatch --wait --array=1-{n} --wrap true` (Slurm)"
    if slurm.available:
        # Once: the one-node test cluster takes minutes for 1000 tasks, and the test suite shares that cluster.
        peer = Case(label, ["sbatch", "-o", "/dev/null", "--wait", f"--array=1-{n}", "--wrap", "true"], slurm.env)
        measure([peer], repeat=1, warmup=0)
        result.rows.append(Row.of(peer, note="one run"))
    else:
        result.rows.append(Row.missing_peer(label, slurm))
    if totals:
        median = Stats.of(totals).median / 1000
        result.measured = f"{median:.2f} s"
        result.verdict = MET if median <= 3 and not problems else NOT_MET
    return result


def _pss(pids: Sequence[int]) -> list[float]:
    """PSS in MiB of each process (psutil reads /proc/PID/smaps_rollup)."""
    return [psutil.Process(pid).memory_full_info().pss / MIB for pid in pids]


def _bare_python_pss(ctx: Context, count: int) -> Stats:
    """PSS of ``count`` bare ``python -I -S`` processes sleeping: the least a Python supervisor can cost."""
    procs = [subprocess.Popen([ctx.python, "-I", "-S", "-c", "import time; time.sleep(600)"])
             for _ in range(count)]
    try:
        time.sleep(1.0)
        return Stats.of(_pss([p.pid for p in procs]))
    finally:
        for p in procs:
            p.kill()
            p.wait()


def memory(ctx: Context) -> Result:
    """Target 6: PSS of each running job's supervisor (the job itself is the user's), 100 jobs at once."""
    n = ctx.sizes.sleepers
    result = Result(6, f"memory per running process job, {n} concurrent `sleep` jobs", "≤ 4 MB PSS each "
                    "(smaps_rollup)")
    home = ctx.home("sleepers")
    ids = [ctx.call(home, "submit", "--terse", "--", "sleep", "600").stdout.strip() for _ in range(n)]
    try:
        deadline = time.monotonic() + 60
        while True:
            jobs = _jobs(ctx, home, *ids)
            if all(j["state"] == "running" and j["native_id"] for j in jobs) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        pids = [int(str(j["native_id"])) for j in jobs if j["state"] == "running"]
        shepherds = [psutil.Process(pid).ppid() for pid in pids]
        supervisor = Stats.of(_pss(shepherds))
        job = Stats.of(_pss(pids))
    finally:
        subprocess.run(ctx.cli("kill", "--signal", "KILL", *ids), env=ctx.env(home), capture_output=True,
                       check=False)
        subprocess.run(ctx.cli("wait", *ids), env=ctx.env(home), capture_output=True, check=False)
    bare = _bare_python_pss(ctx, n)
    result.rows = [
        Row(f"supervisor (shepherd) of each of {len(shepherds)} running jobs", value=supervisor.text("MiB", 2),
            data={"pss_mib": supervisor.to_json()}),
        Row("the job itself (`sleep 600`), for comparison", value=job.text("MiB", 2),
            data={"pss_mib": job.to_json()}),
        Row(f"a bare `python -I -S` sleeping ({n} at once): the floor of a Python supervisor",
            value=bare.text("MiB", 2), data={"pss_mib": bare.to_json()}),
    ]
    result.measured = f"{supervisor.median:.2f} MiB"
    result.verdict = MET if supervisor.median <= 4 and len(shepherds) == n else NOT_MET
    if len(shepherds) != n:
        result.note = f"only {len(shepherds)} of {n} jobs were running"
    return result


def _flood(argv: Sequence[str], env: dict[str, str], submitters: int, each: int) -> tuple[float, list[str], str]:
    """``submitters`` shells at once, each running ``argv`` ``each`` times; (seconds, lines printed, errors)."""
    script = f"for i in $(seq {each}); do {shlex.join(argv)} || echo FAILED; done"
    began = time.perf_counter()
    procs = [subprocess.Popen(["sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(submitters)]
    outputs = [p.communicate() for p in procs]
    took = time.perf_counter() - began
    lines = [line for out, _ in outputs for line in out.split()]
    errors = sorted({line for _, err in outputs for line in err.splitlines()})
    return took, lines, "; ".join(errors[:3])


def _flood_row(label: str, took: float, lines: list[str], known: set[str], expected: int, errors: str) -> Row:
    ids = [line for line in lines if line != "FAILED"]
    duplicates = len(ids) - len(set(ids))
    lost = expected - len(set(ids) & known)
    rate = expected / took
    note = f"{lines.count('FAILED')} submit(s) failed: {errors}" if "FAILED" in lines else ""
    return Row(label, value=f"{rate:.1f} jobs/s ({took:.1f} s); {lost} lost, {duplicates} duplicate ids",
               note=note, data={"seconds": round(took, 3), "jobs_per_second": round(rate, 2), "lost": lost,
                                "duplicates": duplicates, "failed": lines.count("FAILED")})


def concurrent(ctx: Context) -> Result:
    """Target 8: 64 shells submitting 20 jobs each, all at once; every id printed must be in the store once."""
    s, each = ctx.sizes.submitters, ctx.sizes.jobs_each
    result = Result(8, f"{s} concurrent submitters × {each} jobs", "throughput in jobs/s, and 0 lost / 0 "
                    "duplicate ids")
    home = ctx.home("concurrent")
    took, lines, errors = _flood(ctx.cli("submit", "--terse", "--", "true"), ctx.env(home), s, each)
    known = {str(j["id"]) for j in _jobs(ctx, home)}
    row = _flood_row(f"drmaa2: {s} × `drmaa2 submit --terse -- true`", took, lines, known, s * each, errors)
    result.rows.append(row)
    ts = ctx.peers["task-spooler"]
    if ts.available:
        t_took, t_lines, t_errors = _flood(["tsp", "true"], ts.env, s, each)
        listing = subprocess.run(["tsp", "-l"], env=ts.env, capture_output=True, text=True, check=False).stdout
        t_known = {line.split()[0] for line in listing.splitlines()[1:] if line.split()}
        result.rows.append(_flood_row(f"task-spooler: {s} × `tsp true`", t_took, t_lines, t_known, s * each,
                                      t_errors))
    else:
        result.rows.append(Row.missing_peer(f"task-spooler: {s} × `tsp true`", ts))
    result.measured = row.value or "–"
    result.verdict = MET if row.data["lost"] == 0 and row.data["duplicates"] == 0 else NOT_MET
    return result

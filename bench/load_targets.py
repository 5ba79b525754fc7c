"""Targets 5, 8, 11 and 13: many tasks, many concurrent submitters."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .measure import Case, Stats, measure
from .model import MET, NOT_MET, Context, Result, Row


def _jobs(ctx: Context, home: Path, *ids: str) -> list[dict[str, object]]:
    args = ["status", "--json", *ids] if ids else ["status", "--json", "--all", "--limit", "0"]
    jobs: list[dict[str, object]] = json.loads(ctx.call(home, *args).stdout)["jobs"]
    return jobs


def _array_runs(ctx: Context, n: int, repeat: int) -> tuple[Stats | None, Stats | None, list[str]]:
    """Submit an ``n``-task array of ``true`` and wait for all of it, ``repeat`` times from a fresh home: the
    milliseconds to all done and of the submit alone, and what went wrong."""
    totals: list[float] = []
    submits: list[float] = []
    problems: list[str] = []
    for rep in range(repeat):
        home = ctx.home(f"array-{n}-{rep}")
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
    if not totals:
        return None, None, problems
    return Stats.of(totals), Stats.of(submits), problems


def array_runs(ctx: Context, n: int) -> tuple[Stats | None, Stats | None, list[str]]:
    """``_array_runs`` of ``n`` tasks once per benchmark run: targets 5 and 16, 13 and 17 judge the same runs."""
    key = f"array-{n}"
    if key not in ctx.shared:
        ctx.shared[key] = _array_runs(ctx, n, ctx.sizes.array_repeat)
    runs: tuple[Stats | None, Stats | None, list[str]] = ctx.shared[key]
    return runs


def array(ctx: Context) -> Result:
    """Target 5: submit a 1000-task array of ``true`` and wait for all of it, from a fresh home each time."""
    n = ctx.sizes.array_tasks
    result = Result(5, f"{n}-task array of `true`, submit → all done", "≤ 3 s on 2 cores; beside a Slurm array "
                    "of the same")
    total, submit, problems = array_runs(ctx, n)
    if total is not None and submit is not None:
        result.rows.append(Row(f"`drmaa2 submit --array 1-{n} -- true` + `drmaa2 wait`", total))
        result.rows.append(Row("… of which `submit`", submit))
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
    if total is not None:
        median = total.median / 1000
        result.measured = f"{median:.2f} s"
        result.verdict = MET if median <= 3 and not problems else NOT_MET
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


def _drmaa2_flood(ctx: Context) -> Row:
    """drmaa2's flood, once per run: targets 8 and 11 judge the same measurement."""
    if "flood" not in ctx.shared:
        s, each = ctx.sizes.submitters, ctx.sizes.jobs_each
        home = ctx.home("concurrent")
        took, lines, errors = _flood(ctx.cli("submit", "--terse", "--", "true"), ctx.env(home), s, each)
        known = {str(j["id"]) for j in _jobs(ctx, home)}
        ctx.shared["flood"] = _flood_row(f"drmaa2: {s} × `drmaa2 submit --terse -- true`", took, lines, known,
                                         s * each, errors)
    row: Row = ctx.shared["flood"]
    return row


def concurrent(ctx: Context) -> Result:
    """Target 8: 64 shells submitting 20 jobs each, all at once; every id printed must be in the store once."""
    s, each = ctx.sizes.submitters, ctx.sizes.jobs_each
    result = Result(8, f"{s} concurrent submitters × {each} jobs", "throughput in jobs/s, and 0 lost / 0 "
                    "duplicate ids")
    row = _drmaa2_flood(ctx)
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


#: Twice the first round's 23.8 jobs/s.
FLOOD_TARGET = 47.6


def concurrent_rate(ctx: Context) -> Result:
    """Target 11: target 8's flood judged by its rate (measured here when target 8 did not run)."""
    s, each = ctx.sizes.submitters, ctx.sizes.jobs_each
    result = Result(11, f"{s} concurrent submitters × {each} jobs, throughput",
                    f"≥ {FLOOD_TARGET} jobs/s (2× the first round's 23.8), 0 lost / 0 duplicate ids")
    reused = "flood" in ctx.shared
    row = _drmaa2_flood(ctx)
    result.rows.append(Row(row.label, value=row.value, note=row.note or ("target 8's measurement" if reused
                                                                           else ""), data=row.data))
    result.measured = row.value or "–"
    sound = row.data["lost"] == 0 and row.data["duplicates"] == 0 and row.data["failed"] == 0
    result.verdict = MET if sound and row.data["jobs_per_second"] >= FLOOD_TARGET else NOT_MET
    return result


BIG_ARRAY_TARGET = 10.0


def big_array(ctx: Context) -> Result:
    """Target 13: a 10,000-task array of ``true`` on the process backend, submit → all done."""
    n = ctx.sizes.big_array_tasks
    result = Result(13, f"{n:,}-task array of `true`, submit → all done", f"≤ {BIG_ARRAY_TARGET:g} s on 2 cores")
    return judge_array(ctx, result, n, BIG_ARRAY_TARGET)


def judge_array(ctx: Context, result: Result, n: int, seconds: float) -> Result:
    """``result`` with the rows and the verdict of ``array_runs`` of ``n`` tasks against ``seconds``."""
    total, submit, problems = array_runs(ctx, n)
    if total is not None and submit is not None:
        result.rows += [Row(f"`drmaa2 submit --array 1-{n} -- true` + `drmaa2 wait`", total),
                        Row("… of which `submit`", submit)]
        result.measured = f"{total.median / 1000:.2f} s"
        result.verdict = MET if total.median / 1000 <= seconds and not problems else NOT_MET
    result.note = "; ".join(problems)
    return result

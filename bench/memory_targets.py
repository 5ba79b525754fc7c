"""Targets 6 and 14: the memory each running process job costs (its supervisor's PSS; the job is the user's)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from .measure import Stats
from .model import MET, NOT_MET, UNAVAILABLE, Context, Result, Row

MIB = 2**20


def _jobs(ctx: Context, home: Path, *ids: str) -> list[dict[str, object]]:
    jobs: list[dict[str, object]] = json.loads(ctx.call(home, "status", "--json", *ids).stdout)["jobs"]
    return jobs


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


@dataclass
class Running:
    """PSS of ``n`` running ``sleep 600`` jobs' supervisors and of the jobs themselves, and how many ran."""

    supervisors: Stats | None
    jobs: Stats | None
    running: int


def _running_pss(ctx: Context, home: Path, options: Sequence[str], n: int) -> Running:
    """Submit ``n`` ``sleep 600`` jobs with ``options``, read the PSS of each running one's supervisor (the
    parent of the job's process) and of the job, then kill them all."""
    ids = [ctx.call(home, "submit", "--terse", *options, "--", "sleep", "600").stdout.strip() for _ in range(n)]
    try:
        deadline = time.monotonic() + 60
        while True:
            jobs = _jobs(ctx, home, *ids)
            if all(j["state"] == "running" and j["native_id"] for j in jobs) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        pids = [int(str(j["native_id"])) for j in jobs if j["state"] == "running" and j["native_id"]]
        shepherds = [psutil.Process(pid).ppid() for pid in pids]
        return Running(Stats.of(_pss(shepherds)) if shepherds else None, Stats.of(_pss(pids)) if pids else None,
                       len(pids))
    finally:
        subprocess.run(ctx.cli("kill", "--signal", "KILL", *ids), env=ctx.env(home), capture_output=True,
                       check=False)
        subprocess.run(ctx.cli("wait", *ids), env=ctx.env(home), capture_output=True, check=False)


def memory(ctx: Context) -> Result:
    """Target 6: PSS of each running job's supervisor (the job itself is the user's), 100 jobs at once."""
    n = ctx.sizes.sleepers
    result = Result(6, f"memory per running process job, {n} concurrent `sleep` jobs", "≤ 4 MB PSS each "
                    "(smaps_rollup)")
    got = _running_pss(ctx, ctx.home("sleepers"), [], n)
    if got.supervisors is None or got.jobs is None:
        result.verdict, result.note = NOT_MET, "no job was running"
        return result
    supervisor = got.supervisors
    bare = _bare_python_pss(ctx, n)
    result.rows = [
        Row(f"supervisor (shepherd) of each of {got.running} running jobs", value=supervisor.text("MiB", 2),
            data={"pss_mib": supervisor.to_json()}),
        Row("the job itself (`sleep 600`), for comparison", value=got.jobs.text("MiB", 2),
            data={"pss_mib": got.jobs.to_json()}),
        Row(f"a bare `python -I -S` sleeping ({n} at once): the floor of a Python supervisor",
            value=bare.text("MiB", 2), data={"pss_mib": bare.to_json()}),
    ]
    result.measured = f"{supervisor.median:.2f} MiB"
    result.verdict = MET if supervisor.median <= 4 and got.running == n else NOT_MET
    if got.running != n:
        result.note = f"only {got.running} of {n} jobs were running"
    return result


MEMORY_TARGET = 3.0
QUEUE = "bench"


def _has_option(ctx: Context, home: Path, option: str) -> bool:
    """Whether ``drmaa2 submit`` of the build measured knows ``option`` (a feature may come later)."""
    help_text = subprocess.run(ctx.cli("submit", "--help"), env={**ctx.env(home), "COLUMNS": "200"},
                               capture_output=True, text=True, check=False).stdout
    return option in help_text


def memory_kinds(ctx: Context) -> Result:
    """Target 14: a running job's supervisor PSS for a plain job, a job of a local queue with slots (every job
    gets a slot, so all run) and a job with ``--retries`` (where that option exists)."""
    n = ctx.sizes.sleepers
    result = Result(14, f"memory per running process job: plain, local queue with slots, with retries ({n} "
                    "concurrent `sleep` jobs each)", f"≤ {MEMORY_TARGET:g} MiB PSS each (smaps_rollup)")
    home = ctx.home("memory-kinds")
    (home / "config.toml").write_text(f"[queues.{QUEUE}]\nslots = {n}\n")
    kinds: list[tuple[str, str, list[str] | None]] = [
        ("plain", "plain `drmaa2 submit -- sleep 600`", []),
        ("queue", f"`drmaa2 submit --queue {QUEUE}` (local queue, `slots = {n}`)", ["--queue", QUEUE]),
        ("retries", "`drmaa2 submit --retries 2`",
         ["--retries", "2"] if _has_option(ctx, home, "--retries") else None),
    ]
    medians: list[str] = []
    ok = True
    for short, label, options in kinds:
        if options is None:
            result.rows.append(Row(label, note="not available: this build's `drmaa2 submit` has no --retries"))
            medians.append("retries: not available")
            continue
        got = _running_pss(ctx, home, options, n)
        if got.supervisors is None:
            result.rows.append(Row(f"supervisor of each job, {label}", note="no job was running"))
            medians.append(f"{short}: no job ran")
            ok = False
            continue
        note = "" if got.running == n else f"only {got.running} of {n} jobs were running"
        result.rows.append(Row(f"supervisor of each of {got.running} running jobs, {label}",
                               value=got.supervisors.text("MiB", 2), note=note,
                               data={"pss_mib": got.supervisors.to_json()}))
        medians.append(f"{short} {got.supervisors.median:.2f} MiB")
        ok = ok and got.running == n and got.supervisors.median <= MEMORY_TARGET
    bare = _bare_python_pss(ctx, n)
    result.rows.append(Row(f"a bare `python -I -S` sleeping ({n} at once): the floor of a Python supervisor",
                           value=bare.text("MiB", 2), data={"pss_mib": bare.to_json()}))
    result.measured = "; ".join(medians)
    result.verdict = MET if ok else NOT_MET
    if kinds[-1][2] is None:
        result.note = "--retries is not in this build: that case is not available"
        if ok:
            result.verdict = UNAVAILABLE
    return result

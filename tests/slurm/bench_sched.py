"""Submit cost and turnaround of the Slurm and Grid Engine backends against the schedulers' own clients.

    eval "$(tests/infra/slurm.sh)"; eval "$(tests/infra/gridengine.sh)"
    .venv/bin/python tests/slurm/bench_sched.py [--runs 15]

Prints medians in milliseconds (not a test: timings are never asserted).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sched_driver import Driver

from drmaa2cli.backends.base import Backend, BackendContext
from drmaa2cli.backends.sched.gridengine import GridEngineBackend
from drmaa2cli.backends.sched.slurm import SlurmBackend
from drmaa2cli.models import JobTemplate

SCRIPT = b"#!/bin/sh\nexec true\n"


def median_ms(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def direct(argv: list[str]) -> Callable[[], object]:
    def go() -> object:
        return subprocess.run(argv, input=SCRIPT, capture_output=True, check=True)
    return go


def ours_submit(driver: Driver) -> Callable[[], object]:
    return lambda: driver.submit(JobTemplate(remote_command="true"))


def ours_turnaround(driver: Driver) -> Callable[[], object]:
    return lambda: driver.wait(driver.submit(JobTemplate(remote_command="true")), timeout=120)


def bench(name: str, backend: Backend, submit: list[str], sync: list[str], runs: int) -> None:
    driver = Driver(backend)
    out = backend.ctx.output_dir
    print(f"{name}: {submit[0]} direct      {median_ms(runs, direct(submit)):8.1f} ms")
    print(f"{name}: prepare+bind+start  {median_ms(runs, ours_submit(driver)):8.1f} ms")
    print(f"{name}: {' '.join(sync[:2])} (turnaround) {median_ms(runs, direct(sync)):8.1f} ms")
    print(f"{name}: submit -> final seen {median_ms(runs, ours_turnaround(driver)):8.1f} ms")
    driver.wait(list(driver.jobs.values()), timeout=300)
    print(f"{name}: {len(list(out.iterdir()))} output files in {out}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", choices=["slurm", "gridengine"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.chdir(home)
        ctx = BackendContext(home=Path(home), instance="bench")
        if args.only in (None, "slurm"):
            bench("slurm", SlurmBackend(ctx), ["sbatch", "--parsable", "-o", "/dev/null"],
                  ["sbatch", "--wait", "-o", "/dev/null"], args.runs)
        if args.only in (None, "gridengine"):
            bench("gridengine", GridEngineBackend(ctx),
                  ["qsub", "-terse", "-S", "/bin/sh", "-o", "/dev/null", "-j", "y"],
                  ["qsub", "-sync", "y", "-S", "/bin/sh", "-o", "/dev/null", "-j", "y"], args.runs)


if __name__ == "__main__":
    main()

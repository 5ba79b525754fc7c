"""``python -m bench``: run the targets, print the summary, write bench/results/*.md and *.json.

``bench/run`` is the one command to use (it installs drmaa2 and the peers first); this module is what it runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import (
    backend_targets,
    cli_targets,
    docker_target,
    history_targets,
    load_targets,
    memory_targets,
    peers,
    report,
    round3_targets,
)
from .history import make_history
from .measure import clean_env
from .model import ERROR, Context, Result, Sizes, judged

# 1-8: the first round's targets; 9-15: the second round's (issue #21); 16-20 and 23 the third's (issue #28;
# 21 and 22 are the test suite's time), numbered on so that `--only`, the JSON results and bench.compare keep
# one key per target; the report gives each round its own table.
TITLES = {1: "submit", 2: "submit --wait", 3: "exit → wait", 4: "status", 5: "array", 6: "memory",
          7: "docker", 8: "concurrent submitters", 9: "docker output", 10: "submit CPU",
          11: "concurrent submitters, rate", 12: "status at 1M, rm --finished", 13: "10k-task array",
          14: "memory: plain, slots, retries", 15: "new backends beside their tools",
          16: "1k-task array, default containment", 17: "10k-task array, default containment",
          18: "concurrent submits against the CPU bound", 19: "submit beside a big live array",
          20: "control of a big array", 23: "docker run with a piped stdin"}


def default_drmaa2() -> list[str]:
    """The ``drmaa2`` entry point next to this interpreter, else ``python -m drmaa2cli``."""
    script = Path(sys.executable).with_name("drmaa2")
    return [str(script)] if script.exists() else [sys.executable, "-m", "drmaa2cli"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description="drmaa2 beside its peers; see docs/performance.md")
    p.add_argument("--smoke", action="store_true", help="one repetition, tiny sizes (what the tests run)")
    p.add_argument("--repeat", type=int, help="timed repetitions per case (default 15)")
    p.add_argument("--only", help="target numbers, e.g. 1,2,4 or 9-15")
    p.add_argument("--drmaa2", help="the drmaa2 command to measure (default: the one next to this python)")
    p.add_argument("--out", type=Path, default=peers.ROOT / "bench" / "results", help="where results go")
    p.add_argument("--docs", action="store_true", help="also put the table into docs/performance.md")
    p.add_argument("--docker-image", help="image for targets 7 and 9 (default: a local busybox or alpine image)")
    return p.parse_args(argv)


def numbers(text: str) -> set[int]:
    """``1,2,9-15`` → {1, 2, 9, …, 15}."""
    wanted: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        wanted |= set(range(int(first), int(last or first) + 1))
    return wanted


def find_peers(work: Path, image: str | None) -> dict[str, peers.Peer]:
    """Every peer, in the smoke run too: its sizes are small, but each peer's code path runs."""
    env = clean_env()
    gridengine = peers.gridengine(env)
    return {
        "task-spooler": peers.task_spooler(env, work / "ts.socket"),
        "Slurm": peers.slurm(env),
        "Grid Engine": gridengine,
        "docker": peers.docker(env, image),
        "kubernetes": peers.kubernetes(env),
        "podman": peers.podman(env),
        "libdrmaa": peers.libdrmaa(env, gridengine),
    }


def guarded(number: int, run: Callable[[], Result]) -> Result:
    """A target that raised is reported as an error with its cause, and the others still run."""
    try:
        return judged(run())
    except Exception as e:
        sys.stderr.write(traceback.format_exc())
        return Result(number, TITLES[number], "", verdict=ERROR, note=f"{type(e).__name__}: {e}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = Sizes.for_smoke() if args.smoke else Sizes()
    if args.repeat:
        sizes.repeat = args.repeat
    wanted = numbers(args.only) if args.only else set(TITLES)
    if wanted - set(TITLES):
        raise SystemExit(f"bench/run: no target {', '.join(map(str, sorted(wanted - set(TITLES))))} "
                         f"(1-{max(TITLES)})")
    drmaa2 = shlex.split(args.drmaa2) if args.drmaa2 else default_drmaa2()
    info = report.machine(sys.executable)
    info["started"] = time.strftime("%Y-%m-%d %H:%M %Z")
    work = Path(tempfile.mkdtemp(prefix="drmaa2-bench-"))
    image = args.docker_image or peers.local_image(clean_env())
    ctx = Context(drmaa2, sys.executable, work, sizes, find_peers(work, image), image)
    targets: dict[int, Callable[[], Result]] = {}
    if wanted & {1, 2, 3, 10}:
        home = ctx.home("submit")
        make_history(home, min(1000, sizes.histories[-1]))
        targets |= {1: lambda: cli_targets.submit_latency(ctx, home),
                    2: lambda: cli_targets.submit_wait(ctx, home),
                    3: lambda: cli_targets.exit_to_wait(ctx, home),
                    10: lambda: cli_targets.submit_cpu(ctx, home)}
    targets |= {4: lambda: cli_targets.status_listing(ctx), 5: lambda: load_targets.array(ctx),
                6: lambda: memory_targets.memory(ctx), 7: lambda: docker_target.docker(ctx),
                8: lambda: load_targets.concurrent(ctx), 9: lambda: docker_target.docker_output(ctx),
                11: lambda: load_targets.concurrent_rate(ctx), 12: lambda: history_targets.history_scale(ctx),
                13: lambda: load_targets.big_array(ctx), 14: lambda: memory_targets.memory_kinds(ctx),
                15: lambda: backend_targets.backends(ctx), 16: lambda: round3_targets.array_default(ctx),
                17: lambda: round3_targets.big_array_default(ctx), 18: lambda: round3_targets.flood_bound(ctx),
                19: lambda: round3_targets.neighbours(ctx), 20: lambda: round3_targets.array_control(ctx),
                23: lambda: round3_targets.piped_run(ctx)}
    results = []
    try:
        for number in sorted(wanted):
            sys.stderr.write(f"bench: target {number} ({TITLES[number]}) …\n")
            results.append(guarded(number, targets[number]))
    finally:
        ts = ctx.peers["task-spooler"]
        if ts.available:
            subprocess.run(["tsp", "-K"], env=ts.env, capture_output=True, check=False)
        ctx.cleanup()
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    settings = {"repeat": sizes.repeat, "smoke": sizes.smoke, "drmaa2": drmaa2, "histories": list(sizes.histories),
                "array_tasks": sizes.array_tasks, "sleepers": sizes.sleepers,
                "submitters": [sizes.submitters, sizes.jobs_each], "output_bytes": sizes.output_bytes,
                "big_history": sizes.big_history, "rm_history": sizes.rm_history,
                "big_array_tasks": sizes.big_array_tasks, "backend_repeat": sizes.backend_repeat}
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-smoke" if sizes.smoke else "")
    md, js = report.write(args.out, stamp, results, info, list(ctx.peers.values()), settings)
    sys.stdout.write("\n".join(report.rounds(results)) + f"\n\nwritten: {md}\n         {js}\n")
    if args.docs:
        report.update_docs(report.markdown(results, info, list(ctx.peers.values()), settings))
        sys.stdout.write(f"         {report.DOCS}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

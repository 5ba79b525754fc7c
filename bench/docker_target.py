"""Target 7: ``drmaa2 submit --backend docker`` beside ``docker run -d`` of the same image and command.

Both are measured on the engine's default network, as users run them, and on ``--network none``, which does
not depend on the bridge: an engine whose default network is broken still gives a comparison, and the
report says why the default one is missing. A docker job that could not start is recorded failed while its
submit exits 0, so every drmaa2 run is checked afterwards and such runs are not counted.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from drmaa2cli.backends import REGISTRY

from .measure import Case
from .model import MET, NOT_MET, UNAVAILABLE, Context, Result, Row, ratio

TARGET = 1.3


def _pair(ctx: Context, image: str, home: Path, network: str | None) -> tuple[Case, Case]:
    peer = ctx.peers["docker"]
    run_flags = ["--network", network] if network else []
    native = ["--native", f"network={network}"] if network else []
    run = Case(f"`docker run -d {' '.join([*run_flags, image])} true`",
               ["docker", "run", "-d", *run_flags, image, "true"], peer.env)
    label = " ".join(["drmaa2 submit --backend docker", *native, "--image", image, "-- true"])
    submit = Case(f"`{label}`",
                  ctx.cli("submit", "--terse", "--backend", "docker", *native, "--image", image, "--", "true"),
                  ctx.env(home))
    return run, submit


def _count_only_started(ctx: Context, home: Path, case: Case) -> None:
    """Mark as failed the runs whose job could not start (their submit exited 0)."""
    runs = {r.out.decode().strip(): r for r in case.runs if r.code == 0}
    if not runs:
        return
    jobs = json.loads(subprocess.run(ctx.cli("status", "--json", *runs), env=ctx.env(home), capture_output=True,
                                     text=True, check=True).stdout)["jobs"]
    for job in jobs:
        annotation = job.get("annotation") or ""
        if job["state"] == "failed" and annotation.startswith("cannot start"):
            runs[job["id"]].code = -1
            if len(case.errors) < 1:
                case.errors.append(f"the job did not start: {annotation}")


def _cleanup(ctx: Context, home: Path, cases: list[Case]) -> None:
    containers = [r.out.decode().strip() for c in cases if c.argv[0] == "docker" for r in c.runs if r.code == 0]
    if containers:
        subprocess.run(["docker", "rm", "-f", *containers], env=ctx.peers["docker"].env, capture_output=True,
                       check=False)
    jobs = [r.out.decode().strip() for c in cases if c.argv[0] != "docker" for r in c.runs if r.out.strip()]
    if jobs:
        subprocess.run(ctx.cli("rm", "--force", *jobs), env=ctx.env(home), capture_output=True, check=False)


def docker(ctx: Context) -> Result:
    result = Result(7, "`submit --backend docker`", f"≤ {TARGET}× `docker run -d` of the same image and command")
    peer = ctx.peers["docker"]
    reasons = [] if peer.available else [f"docker: {peer.reason}"]
    if "docker" not in REGISTRY:
        reasons.insert(0, f"the docker backend is not in this build (backends: {', '.join(sorted(REGISTRY))})")
    if reasons:
        result.verdict, result.note = UNAVAILABLE, "; ".join(reasons)
        return result
    image = ctx.docker_image or "IMAGE"
    home = ctx.home("docker")
    run, submit = _pair(ctx, image, home, None)
    run_none, submit_none = _pair(ctx, image, home, "none")
    cases = [run, submit, run_none, submit_none]
    try:
        ctx.measure(cases)
        _count_only_started(ctx, home, submit)
        _count_only_started(ctx, home, submit_none)
    finally:
        _cleanup(ctx, home, cases)
    result.rows = [Row.of(c) for c in cases]
    default, bare = ratio(submit.wall(), run.wall()), ratio(submit_none.wall(), run_none.wall())
    if default is not None:
        result.measured = f"{default:.2f}×" + (f" (network none: {bare:.2f}×)" if bare is not None else "")
        result.verdict = MET if default <= TARGET else NOT_MET
    elif bare is not None:
        result.measured = f"{bare:.2f}× on network none"
        result.verdict = MET if bare <= TARGET else NOT_MET
        failed = next((c.errors[0] for c in (run, submit) if c.errors), "no run succeeded")
        result.note = f"on the engine's default network nothing could start ({failed})"
    else:
        result.verdict = UNAVAILABLE
        result.note = next((c.errors[0] for c in cases if c.errors), "no container could start")
    return result

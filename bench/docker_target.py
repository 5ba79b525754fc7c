"""Target 7: ``drmaa2 submit --backend docker`` beside ``docker run -d`` of the same image and command; target 9:
``drmaa2 run`` of a job printing megabytes beside ``docker run`` of it.

Both are measured on the engine's default network, as users run them, and on ``--network none``, which does
not depend on the bridge: an engine whose default network is broken still gives a comparison, and the
report says why the default one is missing. A docker job that could not start is recorded failed while its
submit exits 0, so every drmaa2 run is checked afterwards and such runs are not counted.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from drmaa2cli.backends import REGISTRY

from .measure import Case, Run
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


OUTPUT_TARGET = 1.2
#: Short lines (21 bytes with the newline), as a chatty build or test log prints them; busybox has both tools.
PRINTER = "yes 0123456789abcdefghij | head -c {}"


def _size_check(path: Path, size: int) -> Callable[[Run], str | None]:
    """A run counts only when every byte arrived where its output was sent."""

    def check(_: Run) -> str | None:
        got = path.stat().st_size if path.exists() else 0
        return None if got == size else f"{got} of {size} bytes of output arrived"

    return check


def docker_output(ctx: Context) -> Result:
    """Target 9: a job printing megabytes of short lines, followed live by ``drmaa2 run`` beside ``docker run``
    (attached, ``--rm``), both with their stdout going to a file."""
    size = ctx.sizes.output_bytes
    megabytes = f"{size / 1e6:g} MB"
    result = Result(9, f"docker output: {megabytes} of short lines through `drmaa2 run`",
                    f"≤ {OUTPUT_TARGET}× `docker run --rm` of the same")
    peer = ctx.peers["docker"]
    if "docker" not in REGISTRY or not peer.available:
        result.verdict = UNAVAILABLE
        result.note = f"docker: {peer.reason}" if not peer.available else "the docker backend is not in this build"
        return result
    image = ctx.docker_image or "IMAGE"
    home = ctx.home("docker-output")
    script = PRINTER.format(size)
    run_out, drmaa2_out = ctx.work / "docker-run.out", ctx.work / "drmaa2-run.out"
    run = Case(f"`docker run --rm {image} sh -c '…'` > file", ["docker", "run", "--rm", image, "sh", "-c", script],
               peer.env, stdout=run_out, check=_size_check(run_out, size))
    follow = Case(f"`drmaa2 run -b docker --image {image} -- sh -c '…'` > file",
                  ctx.cli("run", "-b", "docker", "--image", image, "--", "sh", "-c", script), ctx.env(home),
                  stdout=drmaa2_out, check=_size_check(drmaa2_out, size))
    try:
        ctx.measure([run, follow], repeat=ctx.sizes.output_repeat)
    finally:
        subprocess.run(ctx.cli("rm", "--finished", "--force"), env=ctx.env(home), capture_output=True,
                       check=False)
        run_out.unlink(missing_ok=True)
        drmaa2_out.unlink(missing_ok=True)
    note = f"`sh -c '{script}'`"
    result.rows = [Row.of(run, note=note), Row.of(follow)]
    mine, theirs = follow.wall(), run.wall()
    if mine is not None and theirs is not None:
        r = mine.median / theirs.median
        cpu_r = ratio(follow.cpu(), run.cpu())
        # CPU time is each client's own: the engine's work (the container, its logs) is in neither.
        result.measured = (f"{r:.2f}× ({mine.median / 1000:.1f} s vs {theirs.median / 1000:.1f} s)"
                           + (f"; client CPU {cpu_r:.1f}×" if cpu_r is not None else ""))
        result.verdict = MET if r <= OUTPUT_TARGET else NOT_MET
    else:
        result.note = next((c.errors[0] for c in (run, follow) if c.errors), "no run succeeded")
    return result

"""Target 15: each backend added since the first round beside its native tool, a job of ``true`` submitted
and waited for: kubernetes beside ``kubectl create -f`` + ``kubectl wait``, podman beside ``podman run --rm``,
libdrmaa beside ``qsub -sync y`` on the same Grid Engine cell. A backend whose engine cannot run is reported
with the reason."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from drmaa2cli.backends import REGISTRY

from .kubernetes import manifest
from .measure import Case
from .model import MET, NOT_MET, UNAVAILABLE, Context, Result, Row, ratio
from .peers import TEST_IMAGE, Peer, kubectl

LABEL = "drmaa2-bench=1"
#: The table's bound: drmaa2 within 1.2 times its backend's own tool.
LIMIT = 1.2


def _pair(ctx: Context, backend: str, home: Path) -> tuple[Case, Case]:
    """(the native tool's case, drmaa2's) for ``backend``."""
    peer = ctx.peers[backend]
    if backend == "kubernetes":
        job = ctx.work / "bench-job.json"
        job.write_text(manifest(None, TEST_IMAGE))
        k = shlex.quote(kubectl())
        script = (f"j=$({k} create -f {shlex.quote(str(job))} -o name) && "
                  f'{k} wait --for=condition=complete --timeout=300s "$j" >/dev/null')
        native = Case("`kubectl create -f job.json` + `kubectl wait --for=condition=complete`",
                      ["sh", "-c", script], peer.env)
        options = ["--image", TEST_IMAGE]
    elif backend == "podman":
        native = Case(f"`podman --remote run --rm {TEST_IMAGE} true`",
                      ["podman", "--remote", "run", "--rm", TEST_IMAGE, "true"], peer.env)
        options = ["--image", TEST_IMAGE]
    else:
        qsub = ["qsub", "-sync", "y", "-b", "y", "-o", "/dev/null", "-e", "/dev/null", "true"]
        native = Case(f"`{' '.join(qsub)}` (Grid Engine)", qsub, peer.env)
        options = []
    argv = ["submit", "--backend", backend, *options, "--wait", "--", "true"]
    mine = Case(f"`drmaa2 {' '.join(argv)}`", ctx.cli(*argv), {**peer.env, **ctx.env(home)})
    return native, mine


def _cleanup(ctx: Context, backend: str, home: Path, peer: Peer) -> None:
    """Records and leftovers of drmaa2's jobs (each was waited for), and the Jobs kubectl created."""
    subprocess.run(ctx.cli("rm", "--finished", "--force"), env={**peer.env, **ctx.env(home)},
                   capture_output=True, check=False, timeout=300)
    if backend == "kubernetes":
        subprocess.run([kubectl(), "delete", "jobs", "-l", LABEL, "--timeout=120s"], env=peer.env,
                       capture_output=True, check=False, timeout=180)


def backends(ctx: Context) -> Result:
    result = Result(15, "each new backend beside its native tool: a job of `true`, submit → done",
                    "measured: kubernetes beside `kubectl create -f` + `kubectl wait`, podman beside `podman "
                    "run --rm`, libdrmaa beside `qsub -sync y`")
    figures: list[str] = []
    missing: list[str] = []
    over: list[str] = []
    for backend in ("kubernetes", "podman", "libdrmaa"):
        peer = ctx.peers[backend]
        reason = peer.reason if not peer.available else \
            None if backend in REGISTRY else f"the {backend} backend is not in this build"
        if reason is not None:
            result.rows.append(Row(f"{backend}", note=f"not available: {reason}"))
            missing.append(f"{backend}: {reason}")
            continue
        home = ctx.home(backend)
        native, mine = _pair(ctx, backend, home)
        try:
            ctx.measure([native, mine], repeat=ctx.sizes.backend_repeat)
        finally:
            _cleanup(ctx, backend, home, peer)
        result.rows += [Row.of(native), Row.of(mine)]
        r = ratio(mine.wall(), native.wall())
        if r is None:
            why = next((c.errors[0] for c in (native, mine) if c.errors), "no run succeeded")
            missing.append(f"{backend}: {why}")
        else:
            figures.append(f"{backend} {r:.2f}×")
            if r > LIMIT:
                over.append(f"{backend} {r:.2f}× > {LIMIT}×")
    result.measured = ", ".join(figures) or "–"
    # Judged against the table's bound: a backend over it, or one that could not run, makes it "not met";
    # none measured at all is "not available".
    result.verdict = UNAVAILABLE if not figures else NOT_MET if over or missing else MET
    result.note = "; ".join([*over, *missing])
    return result

"""drmaa2's kubernetes backend beside kubectl: submit, and submit→done, of the same one-pod Job.

    eval "$(tests/infra/kubernetes.sh)"; .venv/bin/python -m bench.kubernetes [--rounds 10]

- submit: ``drmaa2 submit --terse --backend kubernetes --image IMG -- true`` against ``kubectl create -f JOB``
  (the manifest drmaa2 would send for ``true``, as kubectl users write it).
- submit→done: ``drmaa2 submit --wait …`` against
  ``kubectl create -f JOB && kubectl wait --for=condition=complete job/NAME``.

Rounds interleave the cases (order rotated), so that a burst of load on the shared machine hits all alike; the
medians (and ranges) of wall-clock milliseconds are printed as a markdown table. Everything made is deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import peers

IMAGE = "drmaa2-test/busybox:1"
KUBECTL = os.environ.get("KUBECTL") or peers.kubectl()


def manifest(name: str | None, image: str = IMAGE) -> str:
    """The Job drmaa2 would send for ``true``, as kubectl users write it; without ``name`` the cluster names
    each one it creates (``generateName``), so the same file can be created again and again."""
    pod = {"restartPolicy": "Never", "shareProcessNamespace": True, "terminationGracePeriodSeconds": 5,
           "enableServiceLinks": False, "containers": [{"name": "job", "image": image, "args": ["true"]}]}
    naming = {"name": name} if name else {"generateName": "drmaa2-bench-"}
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job",
                       "metadata": {**naming, "labels": {"drmaa2-bench": "1"}},
                       "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"drmaa2-bench": "1"}},
                                                                "spec": pod}}})


def timed(argv: list[str], env: dict[str, str], shell: bool = False, out: list[str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(" ".join(argv) if shell else argv, env=env, shell=shell, capture_output=True)
    took = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode().strip()[-300:]}")
    if out is not None:
        out.append(proc.stdout.decode().strip())
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    if "KUBECONFIG" not in os.environ:
        print("set KUBECONFIG first: eval \"$(tests/infra/kubernetes.sh)\"", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="drmaa2-bench-k8s-"))
    env = {**os.environ, "DRMAA2_HOME": str(work / "home")}
    drmaa2 = [sys.executable, "-m", "drmaa2cli"]
    submit = [*drmaa2, "submit", "--terse", "--backend", "kubernetes", "--image", IMAGE, "--", "true"]
    times: dict[str, list[float]] = {k: [] for k in ("drmaa2 submit", "kubectl create -f", "drmaa2 submit --wait",
                                                     "kubectl create -f + kubectl wait")}
    submitted: list[str] = []
    try:
        for r in range(rounds):
            order = list(times)
            order = order[r % len(order):] + order[:r % len(order)]
            for case in order:
                name = f"bench-{os.getpid()}-{r}-{len(times[case])}-{order.index(case)}"
                path = work / f"{name}.json"
                path.write_text(manifest(name))
                if case == "drmaa2 submit":
                    times[case].append(timed(submit, env, out=submitted))
                elif case == "drmaa2 submit --wait":
                    times[case].append(timed([*submit[:4], "--wait", *submit[4:]], env))
                elif case == "kubectl create -f":
                    times[case].append(timed([KUBECTL, "create", "-f", str(path)], env))
                else:
                    times[case].append(timed([KUBECTL, "create", "-f", str(path), "&&", KUBECTL, "wait",
                                              "--for=condition=complete", "--timeout=120s", f"job/{name}"],
                                             env, shell=True))
    finally:
        # The submitted-only jobs end by themselves; a wait finalises them (keeps their logs, deletes their Jobs).
        if submitted:
            subprocess.run([*drmaa2, "wait", "--timeout", "300", *submitted], env=env, capture_output=True)
        subprocess.run([KUBECTL, "delete", "jobs", "-l", "drmaa2-bench=1", "--wait=false"], env=env,
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"| case ({rounds} rounds, interleaved) | median ms | min–max |\n|---|---|---|")
    for case, values in times.items():
        print(f"| `{case}` | {statistics.median(values):.0f} | {min(values):.0f}–{max(values):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

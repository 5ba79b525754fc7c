"""The peers drmaa2 is measured beside, found on this machine: each either answers or says why it cannot run.

task-spooler is Debian's ``task-spooler`` package (the command is ``tsp``: ``ts`` is moreutils' timestamper there).
Slurm and Grid Engine are the project's own single-machine clusters, started by ``tests/infra/slurm.sh`` and
``tests/infra/gridengine.sh`` (``bench/setup-peers`` runs them and ``bench/run`` takes the SLURM_CONF, SGE_ROOT and
SGE_CELL they print); the test suite shares those clusters. ``tests/infra/docker-engine.sh`` starts a Docker engine
and builds the local test image, as no registry may be reachable.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Peer:
    """A peer that answers (``reason`` None), or why it cannot be measured."""

    name: str
    reason: str | None = None
    version: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.reason is None

    def status(self) -> str:
        return f"{self.name} {self.version or ''}".strip() if self.available else f"not available: {self.reason}"


def _answer(argv: Sequence[str], env: Mapping[str, str], timeout: float = 15) -> tuple[bool, str]:
    """(exit status 0, the first line of output or error)."""
    try:
        proc = subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return False, f"{argv[0]} is not installed"
    except subprocess.TimeoutExpired:
        return False, f"`{' '.join(argv)}` did not answer within {timeout:g} s"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode == 0, lines[0] if lines else f"exit {proc.returncode}"


def task_spooler(env: Mapping[str, str], socket: Path) -> Peer:
    """task-spooler with a private server socket (the server starts on first use, ends with ``tsp -K``)."""
    if shutil.which("tsp") is None:
        return Peer("task-spooler", "tsp is not installed (Debian package task-spooler; bench/run installs it)")
    peer_env = {**env, "TS_SOCKET": str(socket), "TS_MAXFINISHED": "100000", "TS_SLOTS": "2"}
    ok, line = _answer(["tsp", "-V"], peer_env)
    version = line.split()[2] if ok and len(line.split()) > 2 else None
    return Peer("task-spooler", None if ok else f"tsp -V failed: {line}", version, peer_env)


def _cluster(name: str, script: str, probe: Sequence[str], version_cmd: Sequence[str],
             env: Mapping[str, str]) -> Peer:
    if not (ROOT / "tests" / "infra" / script).exists():
        return Peer(name, f"tests/infra/{script} (the project's single-machine {name} set-up) is not in this "
                          "checkout")
    if shutil.which(probe[0]) is None:
        return Peer(name, f"{probe[0]} is not installed (bench/run sets it up with tests/infra/{script})")
    ok, line = _answer(probe, env)
    if not ok:
        return Peer(name, f"`{' '.join(probe)}` failed: {line} (bench/run starts it with tests/infra/{script})")
    _, version = _answer(version_cmd, env)
    return Peer(name, None, version, dict(env))


def slurm(env: Mapping[str, str]) -> Peer:
    return _cluster("Slurm", "slurm.sh", ["sinfo", "-h", "-o", "%T"], ["sbatch", "--version"], env)


def gridengine(env: Mapping[str, str]) -> Peer:
    return _cluster("Grid Engine", "gridengine.sh", ["qstat"], ["qstat", "-help"], env)


def docker(env: Mapping[str, str], image: str | None) -> Peer:
    """The docker engine with ``image`` present locally (the benchmark never pulls)."""
    if shutil.which("docker") is None:
        return Peer("docker", "the docker CLI is not installed")
    ok, line = _answer(["docker", "version", "--format", "{{.Server.Version}}"], env)
    if not ok:
        return Peer("docker", f"the docker engine does not answer: {line}")
    if image is None:
        return Peer("docker", "no image given and no busybox or alpine image is present locally (no pulls here)")
    present, _ = _answer(["docker", "image", "inspect", image], env)
    if not present:
        return Peer("docker", f"image {image} is not present locally (the benchmark does not pull)")
    return Peer("docker", None, line, dict(env))


#: The image tests/infra/podman.sh and kubernetes.sh import into their engines (no registry is reachable).
TEST_IMAGE = "drmaa2-test/busybox:1"


def podman(env: Mapping[str, str]) -> Peer:
    """Podman's API service at ``CONTAINER_HOST`` (tests/infra/podman.sh), driven by the podman CLI."""
    if shutil.which("podman") is None:
        return Peer("podman", "podman is not installed (bench/run sets it up with tests/infra/podman.sh)")
    if not env.get("CONTAINER_HOST"):
        return Peer("podman", "CONTAINER_HOST is not set (bench/run takes it from tests/infra/podman.sh)")
    ok, line = _answer(["podman", "--remote", "version", "--format", "{{.Server.Version}}"], env)
    if not ok:
        return Peer("podman", f"the podman service at {env['CONTAINER_HOST']} does not answer: {line}")
    present, _ = _answer(["podman", "--remote", "image", "exists", TEST_IMAGE], env)
    if not present:
        return Peer("podman", f"image {TEST_IMAGE} is not in the podman service (tests/infra/podman.sh imports "
                              "it)")
    return Peer("podman", None, line, dict(env))


def kubectl() -> str:
    """The kubectl tests/infra/kubernetes.sh built with the cluster, else the one on PATH (which may be too far
    from the cluster's version to be supported)."""
    built = Path(os.environ.get("DRMAA2_K8S_CACHE") or "/var/cache/drmaa2-test/kubernetes") / "bin" / "kubectl"
    return str(built) if built.exists() else shutil.which("kubectl") or str(built)


def kubernetes(env: Mapping[str, str]) -> Peer:
    """The cluster at ``KUBECONFIG`` (tests/infra/kubernetes.sh), with a ready node."""
    if not env.get("KUBECONFIG"):
        return Peer("kubernetes", "KUBECONFIG is not set (bench/run takes it from tests/infra/kubernetes.sh)")
    if not Path(kubectl()).exists():
        return Peer("kubernetes", "kubectl is not installed (tests/infra/kubernetes.sh builds one)")
    ok, line = _answer([kubectl(), "get", "nodes", "--no-headers"], env, timeout=30)
    if not ok or " Ready " not in f" {line} ":
        return Peer("kubernetes", f"the cluster has no ready node: {line}")
    # The node's kubelet version (last column) is the cluster's.
    return Peer("kubernetes", None, line.split()[-1], dict(env))


def libdrmaa(env: Mapping[str, str], gridengine: Peer) -> Peer:
    """Grid Engine's DRMAA v1 library (tests/infra/libdrmaa.sh) on the Grid Engine cell, whose ``qsub`` is the
    native tool it is compared with."""
    library = env.get("DRMAA_LIBRARY_PATH")
    if not library:
        return Peer("libdrmaa", "DRMAA_LIBRARY_PATH is not set (bench/run takes it from tests/infra/libdrmaa.sh)")
    if not Path(library).exists():
        return Peer("libdrmaa", f"DRMAA_LIBRARY_PATH names {library}, which does not exist")
    if not gridengine.available:
        return Peer("libdrmaa", f"its Grid Engine cell is not available: {gridengine.reason}")
    if importlib.util.find_spec("drmaa") is None:
        return Peer("libdrmaa", "the drmaa package is not installed beside drmaa2 (pip install '.[libdrmaa]')")
    return Peer("libdrmaa", None, Path(library).name, dict(env))


def local_image(env: Mapping[str, str]) -> str | None:
    """A small image already present: busybox or alpine under any repository name."""
    try:
        out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], env=dict(env),
                             capture_output=True, text=True, timeout=15, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for wanted in ("busybox", "alpine"):
        for image in out.split():
            if wanted in image and not image.endswith(":<none>"):
                return image
    return None

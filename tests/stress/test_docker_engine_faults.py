"""The Docker engine stopped while drmaa2 waits, and started again. A private engine (its own socket, data and
state directories) is started for this, so that stopping it disturbs no other user of the machine's engine.
``wait`` must ride out the outage and return the job's result; ``status`` shows the last known state with one
warning; ``submit`` is refused with 203 and writes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import gate
from tests.requires import command, unavailable

from .harness import Figures, cli_env, one_line_error, read_store, run, spawn, wait_for

IMAGE = "drmaa2-test/busybox:1"
ENGINE_SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "docker-engine.sh"


@dataclass
class PrivateEngine:
    root: Path
    live_restore: bool
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def answers(self) -> bool:
        r = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                           env={**os.environ, "DOCKER_HOST": self.host}, timeout=10, check=False)
        return r.returncode == 0

    def start(self) -> None:
        # Its own network namespace: a dockerd started with --bridge none deletes the interface docker0, which
        # would cut the machine's engine off from its bridge network (every container start fails).
        argv = ["unshare", "--net", "--", "dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
                "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "dockerd.pid"),
                "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false"]
        if self.live_restore:
            argv.append("--live-restore")
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - handed to the daemon
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        if not wait_for(self.answers, 60, 0.2):
            raise RuntimeError(f"private dockerd did not answer: {(self.root / 'dockerd.log').read_text()[-500:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.process = None


@pytest.fixture(params=[False, True], ids=["containers-stop", "live-restore"])
def engine(request: pytest.FixtureRequest, dockerd: str) -> Iterator[PrivateEngine]:
    # dockerd: tests/infra/docker-engine.sh has installed dockerd and docker (and started the machine's
    # engine, which this test must not disturb).
    if os.geteuid() != 0:
        unavailable("a private Docker engine needs root")
    command("unshare", "util-linux")
    if not all(shutil.which(c) for c in ("dockerd", "docker")):
        unavailable("tests/infra/docker-engine.sh left no dockerd and docker")
    root = Path(tempfile.mkdtemp(prefix="d2e-", dir="/tmp"))  # a unix socket path must stay short
    private = PrivateEngine(root, live_restore=request.param)
    machine_bridge = Path("/sys/class/net/docker0")
    had_bridge = machine_bridge.exists()
    try:
        private.start()
        image = subprocess.run(["bash", str(ENGINE_SCRIPT)], env={**os.environ, "DOCKER_HOST": private.host},
                               capture_output=True, text=True, timeout=900, check=False)
        assert image.returncode == 0, image.stderr
        yield private
    finally:
        private.stop()
        with contextlib.suppress(OSError):
            subprocess.run(["umount", "-R", str(root / "exec")], capture_output=True, check=False)
            subprocess.run(["umount", "-R", str(root / "data")], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    assert machine_bridge.exists() or not had_bridge, "the private engine removed the machine engine's docker0"


def test_engine_stopped_during_wait(tmp_path: Path, engine: PrivateEngine, figures: Figures) -> None:
    env = cli_env(tmp_path / "home", DOCKER_HOST=engine.host, DRMAA2_BACKEND="docker")
    gates = tmp_path / "gates"
    gates.mkdir()
    # The job runs until the test lets it end (a short sleep could end before the engine stops on a busy
    # machine, and the outage would not be met).
    sub = run(env, "submit", "--terse", "--image", IMAGE, "--mount", f"{gates}:/g", "--", "sh", "-c",
              f"{gate(Path('/g/go'))}; exit 7")
    assert sub.code == 0, sub.err
    job = sub.out.strip()
    assert wait_for(lambda: json.loads(run(env, "status", "--json", job).out)["jobs"][0]["state"] == "running",
                    120), "the job never ran"
    waiter = spawn(env, "wait", job)
    time.sleep(1.0)  # a head start for the waiter; the job runs on whether or not it has its answer yet
    engine.stop()
    figures.add("engine_stops")
    down = run(env, "status", "--json", job)
    assert down.code == 0, down.err  # the last known state, and why it is not newer
    assert json.loads(down.out)["jobs"][0]["state"] == "running"
    assert down.err.count("\n") == 1 and "drmaa2: docker:" in down.err, down.err
    refused = run(env, "submit", "--image", IMAGE, "--", "true")
    assert refused.code == 203, refused.err
    one_line_error(refused)
    time.sleep(2.0)
    assert waiter.poll() is None, waiter.communicate()  # still waiting: the outage is not the job's end
    engine.start()
    (gates / "go").touch()  # a container that lived through the outage ends now, with its own status
    out, err = waiter.communicate(timeout=120)
    figures.set("last_wait_exit_code", waiter.returncode)
    info = json.loads(run(env, "status", "--json", job).out)["jobs"][0]
    if engine.live_restore:  # the container lived on: its own result
        assert waiter.returncode == 7, err
        assert (info["state"], info["exit_status"]) == ("failed", 7)
    else:  # the engine stopped the container: ended by a signal, or without a status -- and said so
        assert waiter.returncode in (128 + signal.SIGTERM, 128 + signal.SIGKILL, 207), (waiter.returncode, err)
        assert info["state"] == "failed" and info["annotation"], info
    assert b"Traceback" not in err and out.strip() == b""
    assert err.count(b"still waiting") == 1, err  # the outage is told once
    assert read_store(tmp_path / "home").ids == {job}  # the refused submit wrote nothing


def test_engine_password_is_never_shown_or_stored(tmp_path: Path, figures: Figures) -> None:
    """A DOCKER_HOST with a password in it (tcp://user:password@host): refused engines are named without it."""
    secret = "dkr-5e6f7a8b-do-not-leak"
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=f"tcp://user:{secret}@127.0.0.1:1", DRMAA2_BACKEND="docker")
    seen = []
    for args in (["submit", "--image", IMAGE, "--", "true"], ["status"], ["config"], ["config", "--json"]):
        r = run(env, *args)
        seen += [r.out, r.err]
        figures.add("calls")
    assert "127.0.0.1" in "".join(seen)  # the engine is named ...
    assert secret not in "".join(seen)  # ... without its password
    stored = [p.read_bytes() for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert not any(secret.encode() in data for data in stored)

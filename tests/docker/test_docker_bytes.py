"""A job's output comes back byte for byte, as from ``docker run`` and the other backends: in its files, from
``drmaa2 logs`` while it runs and after it ended, and from ``drmaa2 run``'s live stream."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from tests.docker.cli import DockerCli

# Every byte value (most of them not UTF-8 on their own), then a few hundred KB of random bytes, which hold
# newlines at random and lines longer than the engine's 16 KiB log buffer. It ends with a newline: the engine
# logs a last unterminated line only when the stream ends (so does `docker logs`), and the running job's log is
# compared whole. UNTERMINATED, for jobs read once they ended, does not.
PAYLOAD = bytes(range(256)) * 4 + random.Random(20240229).randbytes(300_000) + b"\n"
UNTERMINATED = PAYLOAD + b"\xff no newline at the end \xfe"


def _payload_dir(tmp_path: Path, payload: bytes = PAYLOAD) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "payload").write_bytes(payload)
    return src


def test_output_bytes_while_running_and_after_the_end(docker_cli: DockerCli, tmp_path: Path) -> None:
    src = _payload_dir(tmp_path)
    # Prints the payload on both streams, then waits for the test to let it end.
    script = "cat /in/payload; cat /in/payload >&2; while [ ! -e /in/go ]; do sleep 0.1; done"
    job = docker_cli.submit("sh", "-c", script, options=["--mount", f"{src}:/in"])

    deadline = time.monotonic() + 60
    while True:
        out, err = docker_cli("logs", job), docker_cli("logs", "--stderr", job)
        assert out.code == 0 and err.code == 0, (out.err, err.err)
        if len(out.out) >= len(PAYLOAD) and len(err.out) >= len(PAYLOAD):
            break
        assert time.monotonic() < deadline, f"the running job's log holds {len(out.out)} of {len(PAYLOAD)} bytes"
        time.sleep(0.2)
    assert docker_cli.info(job)["state"] == "running"
    assert out.out == PAYLOAD, "stdout while running"
    assert err.out == PAYLOAD, "stderr while running"

    (src / "go").touch()
    assert docker_cli.wait(job) == 0
    info = docker_cli.info(job)
    assert docker_cli.containers() == [], "the container is removed once the output is saved"
    assert Path(info["output_path"]).read_bytes() == PAYLOAD
    assert Path(info["error_path"]).read_bytes() == PAYLOAD
    assert docker_cli("logs", job).out == PAYLOAD
    assert docker_cli("logs", "--stderr", job).out == PAYLOAD


def test_joined_output_keeps_every_byte(docker_cli: DockerCli, tmp_path: Path) -> None:
    src = _payload_dir(tmp_path, UNTERMINATED)
    job = docker_cli.submit("sh", "-c", "cat /in/payload >&2", options=["--mount", f"{src}:/in:ro", "--join"])
    assert docker_cli.wait(job) == 0
    assert Path(docker_cli.info(job)["output_path"]).read_bytes() == UNTERMINATED


def test_run_streams_every_byte(docker_cli: DockerCli, tmp_path: Path) -> None:
    src = _payload_dir(tmp_path, UNTERMINATED)
    r = docker_cli("run", "--backend", "docker", "--image", docker_cli.image, "--mount", f"{src}:/in:ro",
                   "--", "sh", "-c", "cat /in/payload; cat /in/payload >&2")
    assert r.code == 0
    assert r.out == UNTERMINATED
    assert r.err == UNTERMINATED
    # Its files, kept from the attached stream it printed, hold the same.
    (job,) = docker_cli.cli("status", "--json").json()["jobs"]
    assert Path(job["output_path"]).read_bytes() == UNTERMINATED
    assert Path(job["error_path"]).read_bytes() == UNTERMINATED
    assert not [p.name for p in (docker_cli.home / "run").iterdir() if ".follow" in p.name]


def test_run_joined_prints_and_keeps_the_same_bytes(docker_cli: DockerCli, tmp_path: Path) -> None:
    src = _payload_dir(tmp_path, UNTERMINATED)
    r = docker_cli("run", "--backend", "docker", "--image", docker_cli.image, "--mount", f"{src}:/in:ro", "--join",
                   "--", "sh", "-c", "cat /in/payload; cat /in/payload >&2")
    assert r.code == 0 and r.err == b""
    # Two writers of one file: how their blocks interleave is the engine's, every byte is there once.
    assert sorted(r.out) == sorted(UNTERMINATED * 2)
    (job,) = docker_cli.cli("status", "--json").json()["jobs"]
    assert sorted(Path(job["output_path"]).read_bytes()) == sorted(r.out)


def test_follow_from_the_middle_gives_the_rest_once(docker_cli: DockerCli, tmp_path: Path) -> None:
    """`logs --follow` prints what is there, then follows the engine's live log from that byte on: every byte
    once, on its own stream, the last unterminated line too."""
    src = _payload_dir(tmp_path, UNTERMINATED)
    script = ("head -c 5000 /in/payload; head -c 7000 /in/payload >&2; while [ ! -e /in/go ]; do sleep 0.1; done; "
              "tail -c +5001 /in/payload; tail -c +7001 /in/payload >&2")
    job = docker_cli.submit("sh", "-c", script, options=["--mount", f"{src}:/in"])
    docker_cli.until_running(job)
    # The engine logs a line once it is whole: the first 7000 bytes up to their last newline.
    logged = UNTERMINATED.rfind(b"\n", 0, 7000) + 1
    deadline = time.monotonic() + 60
    while len(docker_cli("logs", "--stderr", job).out) < logged:
        assert time.monotonic() < deadline, "the job's first bytes never reached its log"
        time.sleep(0.1)
    follower = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "logs", "--both", "--follow", job],
                                env=docker_cli.cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
    time.sleep(1)  # the follower has printed the first part and is following
    (src / "go").touch()
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 0, err[-500:]
    assert out == UNTERMINATED
    assert err == UNTERMINATED

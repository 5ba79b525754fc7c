"""A job's output comes back byte for byte, as from ``docker run`` and the other backends: in its files, from
``drmaa2 logs`` while it runs and after it ended, and from ``drmaa2 run``'s live stream."""

from __future__ import annotations

import random
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

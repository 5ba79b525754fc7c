"""Stops a docker job's container when its ``--timeout`` expires: one small detached process per such job.

Started by ``DetachedLaunch`` as a lean helper (``python -I -S``, standard library only, ~4 MB), it
reads its orders as JSON on stdin, waits on the engine's ``/containers/NAME/wait`` until the deadline, and
then records the timeout in the job's kill marker (so the finaliser can say "timed out") and stops the
container: SIGTERM, SIGKILL after the grace period. If it dies, ``refresh`` enforces the deadline instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from urllib.parse import quote

from .http import SocketTransport


def write_atomically(path: str, data: bytes) -> None:
    """Its own copy of ``files.write_atomically``: a lean helper cannot import the drmaa2cli package."""
    tmp = f"{path}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def watch(orders: dict[str, object]) -> None:
    engine = SocketTransport(str(orders["address"]))
    base = f"/v{orders['version']}/containers/{quote(str(orders['container']), safe='')}"
    deadline = time.time() + float(str(orders["timeout"]))
    while (left := deadline - time.time()) > 0:
        try:
            status, body = engine.request("POST", f"{base}/wait?condition=not-running", None, {}, left)
            body.read()
            body.close()
            if status < 500:
                return  # it ended (200), or it is gone (404)
        except TimeoutError:
            break
        except OSError:
            pass  # the engine restarts: look again
        time.sleep(min(1.0, max(0.0, deadline - time.time())))
    write_atomically(str(orders["marker"]), json.dumps({"signal": "timeout"}).encode())
    grace = int(str(orders["grace"]))
    _, body = engine.request("POST", f"{base}/stop?t={grace}", None, {}, grace + 60.0)
    body.close()


def main() -> None:
    data = sys.stdin.buffer.read()
    if data:  # end-of-file without orders: the submission was abandoned
        watch(json.loads(data))


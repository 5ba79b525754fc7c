"""Run the stand-in by hand: ``python -m tests.cf_standin [--port N] [--cf-home DIR]``.

With ``--cf-home`` it writes DIR/.cf/config.json logged in and targeting org "org", space "dev", so that
``CF_HOME=DIR drmaa2 submit --backend cf --app worker -- echo hi`` works against it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
from pathlib import Path

from .server import StandIn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.cf_standin", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--cf-home", type=Path, help="write a logged-in cf config.json under DIR/.cf")
    parser.add_argument("--token-ttl", type=float, default=120.0, help="access token lifetime in seconds")
    parser.add_argument("--envelope-style", choices=("string", "numeric"), default="string")
    args = parser.parse_args()
    standin = StandIn(port=args.port, envelope_style=args.envelope_style)
    standin.world.token_ttl = args.token_ttl
    standin.start()
    if args.cf_home:
        cf_dir = args.cf_home / ".cf"
        cf_dir.mkdir(parents=True, exist_ok=True)
        path = cf_dir / "config.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(standin.cf_config(), f, indent=2)
    print(standin.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    standin.stop()


if __name__ == "__main__":
    main()

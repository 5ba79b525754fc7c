"""A local mailbox for the mail tests: ``tests/infra/mta.sh`` gives this machine a sendmail that delivers to
/var/mail/USER and nothing beyond, and a user whose mailbox a test reads."""

from __future__ import annotations

import functools
import os
import subprocess
import time
from pathlib import Path

from tests.requires import unavailable

ROOT = Path(__file__).resolve().parent
#: The local user that gets the tests' mail.
MAIL_USER = "drmaa2mail"


@functools.cache  # once a run (per worker): the set-up proves delivery with a probe mail
def mailbox() -> Path:
    """The mailbox of MAIL_USER once a local MTA delivers there (set up when missing; needs root)."""
    if os.geteuid() != 0:
        unavailable("the mail tests set up a local MTA and read /var/mail: they need root")
    proc = subprocess.run([str(ROOT / "infra" / "mta.sh"), MAIL_USER], capture_output=True, text=True,
                          timeout=1200, check=False)
    if proc.returncode != 0:
        unavailable(f"no local MTA: {proc.stderr.strip().splitlines()[-1:]}")
    return Path(proc.stdout.strip())


def mail_with(box: Path, words: str, deadline: float = 90.0) -> str:
    """The first mail of ``box`` that holds ``words``, once it has arrived; fails after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        text = box.read_text(errors="replace") if box.exists() else ""
        found = [m for m in text.split("\nFrom ") if words in m]
        if found:
            return found[0]
        assert time.monotonic() < end, f"no mail with {words!r} in {box} after {deadline:g}s"
        time.sleep(0.2)

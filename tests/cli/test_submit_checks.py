"""A job that could never run is refused by `submit` at once (201, one line), not accepted to fail later: a
missing job script, an output file this user cannot write, a begin time after the deadline. Run as an ordinary
user would (as root: without the capability that overrides file permissions), and nothing is recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Cli
from tests.requires import command


def unprivileged() -> list[str]:
    """A prefix that makes the CLI obey file permissions: as root, root without capabilities (setpriv clears
    the bounding set, so no CAP_DAC_OVERRIDE and owner bits apply)."""
    if os.geteuid() != 0:
        return []
    return [command("setpriv", "util-linux"), "--bounding-set=-all", "--inh-caps=-all", "--"]


def test_jobs_that_could_never_run_are_refused_before_anything_is_written(cli: Cli, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    cases = [
        (["--", "./missing.sh"], f"drmaa2: command ./missing.sh does not exist (from {tmp_path})"),
        (["-o", str(locked / "x.out"), "--", "true"], f"drmaa2: cannot write output file {locked}/x.out: "
                                                       "Permission denied"),
        (["--begin", "+10m", "--deadline", "+5m", "--", "true"], "drmaa2: the job's begin time "),
    ]
    prefix = unprivileged()
    for options, words in cases:
        r = subprocess.run([*prefix, sys.executable, "-m", "drmaa2cli", "submit", "--hold", *options],
                           env=cli.env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert (r.returncode, r.stdout) == (201, ""), (options, r.returncode, r.stdout, r.stderr)
        assert r.stderr.startswith(words) and r.stderr.count("\n") == 1, (options, r.stderr)
    assert cli("status", "--all", "--json").json()["jobs"] == []
    # What the same user may do is accepted: their own directory, a script that is there.
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    job = cli.submit("./job.sh", options=["--hold", "-o", str(tmp_path / "x.out"), "--cwd", str(tmp_path)])
    assert cli.info(job)["state"] == "queued_held"


def test_alter_is_held_to_the_same_check(cli: Cli) -> None:
    job = cli.submit("true", options=["--begin", "+1h", "--deadline", "+2h"])
    r = cli("alter", job, "--begin", "+3h")
    assert r.code == 201 and r.err.startswith("drmaa2: the job's begin time ") and r.err.count("\n") == 1, r.err
    assert cli("alter", job, "--begin", "+90m").code == 0

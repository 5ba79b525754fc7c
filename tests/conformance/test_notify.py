"""A job's notification hook (contract case notify): `--notify CMD` runs at its begin and its end, once each,
with the job's id, state and exit status in its environment; `--mail-type` picks the events. The hook runs on
this machine (the process shepherd spawns it, elsewhere a watcher process), so it appends to a local file."""

from __future__ import annotations

import time
from pathlib import Path

from .conftest import DEADLINE, Target, case

HOOK = 'echo "$DRMAA2_EVENT $DRMAA2_JOB_ID $DRMAA2_JOB_STATE $DRMAA2_EXIT_STATUS $DRMAA2_JOB_NAME" >> {}'


def lines_of(path: Path, count: int) -> list[str]:
    """The file's lines once it has ``count`` of them; fails after the deadline."""
    end = time.monotonic() + DEADLINE
    while True:
        found = path.read_text().splitlines() if path.exists() else []
        if len(found) >= count:
            return sorted(found)
        assert time.monotonic() < end, f"only {found} after {DEADLINE:g}s"
        time.sleep(0.2)


@case("notify")
def test_notify_runs_the_hook_at_begin_and_end_once_each(target: Target, tmp_path: Path) -> None:
    every, at_end = tmp_path / "every.log", tmp_path / "end.log"
    failing = target.submit("sh", "-c", "sleep 2; exit 3",
                            options=("--name", "hooked", "--notify", HOOK.format(every)))
    ending = target.submit("sh", "-c", "sleep 2",
                           options=("--name", "mailed", "--notify", HOOK.format(at_end), "--mail-type", "END",
                                    "--mail-user", "nobody"))
    assert (target.wait(failing), target.wait(ending)) == (3, 0)
    assert lines_of(every, 2) == [f"begin {failing} running  hooked", f"fail {failing} failed 3 hooked"]
    assert lines_of(at_end, 1) == [f"end {ending} done 0 mailed"]

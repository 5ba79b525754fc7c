"""An array without ``%N`` runs at most as many tasks at once as the machine has cores (``[backends.process]
max_parallel`` changes it; ``%0`` or ``max_parallel = 0``: no limit); its waiting tasks say why."""

from __future__ import annotations

import os
from pathlib import Path

from drmaa2cli import parsing
from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.cf.backend import CFBackend
from drmaa2cli.backends.process.backend import SHARED_FROM, ProcessBackend, shepherds
from drmaa2cli.models import ArraySpec
from tests.conftest import Cli, gate, until


def test_the_limit_an_array_gets(tmp_path: Path) -> None:
    def limit(spec: str, **settings: object) -> int | None:
        return ProcessBackend(BackendContext(tmp_path, settings=settings)).parallel_limit(parsing.array(spec))

    assert limit("1-40") == os.cpu_count()
    assert limit("1-40%3") == 3
    assert limit("1-40%0") is None
    assert limit("1-40", max_parallel=5) == 5
    assert limit("1-40", max_parallel=0) is None
    assert limit("1-40%7", max_parallel=2) == 7  # the submission's own word wins
    # Elsewhere the platform keeps its own limits: %0 is simply none of drmaa2's.
    cf = CFBackend(BackendContext(tmp_path))
    assert cf.parallel_limit(ArraySpec(1, 4, 1, 0)) is None
    assert cf.parallel_limit(ArraySpec(1, 4)) is None
    assert cf.parallel_limit(ArraySpec(1, 4, 1, 2)) == 2


def limit_arrays_to_one(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700, exist_ok=True)
    (cli.home / "config.toml").write_text("[backends.process]\nmax_parallel = 1\n")


def test_tasks_beyond_the_limit_wait_for_a_slot(cli: Cli, tmp_path: Path) -> None:
    limit_arrays_to_one(cli)
    assert cli("config").code == 0
    go = tmp_path / "go"
    array = cli.submit("sh", "-c", gate(go), options=["--array", "1-2"])
    cli.until_state(f"{array}.1", "running")
    second = cli.info(f"{array}.2")
    assert (second["state"], second["annotation"]) == ("queued", "waiting for a slot")
    # A single job is no array: it starts at once, whatever the arrays' limit.
    single = cli.submit("sh", "-c", gate(go))
    cli.until_state(single, "running")
    go.touch()
    assert cli("wait", array, single).code == 0
    tasks = cli("status", "--json", array).json()["jobs"]
    assert tasks[1]["dispatch_time"] >= tasks[0]["finish_time"]
    assert tasks[1]["annotation"] is None


def test_percent_zero_lifts_the_limit(cli: Cli, tmp_path: Path) -> None:
    limit_arrays_to_one(cli)
    go = tmp_path / "go"
    array = cli.submit("sh", "-c", gate(go), options=["--array", "1-3%0"])

    def all_running() -> bool:
        return all(j["state"] == "running" for j in cli("status", "--json", array).json()["jobs"])

    until(all_running, "every task of a %0 array running at once")
    go.touch()
    assert cli("wait", array).code == 0


def test_how_many_shepherds_share_an_array() -> None:
    assert shepherds(SHARED_FROM - 1, None, 2, mail=False) == 1
    assert shepherds(SHARED_FROM, None, 2, mail=False) == 2
    assert shepherds(SHARED_FROM, None, 8, mail=False) == 2  # each gets at least half of SHARED_FROM tasks
    assert shepherds(10_000, None, 8, mail=False) == 8
    assert shepherds(10_000, 3, 8, mail=False) == 3  # each runs one at a time at least
    assert shepherds(10_000, 1, 8, mail=False) == 1
    assert shepherds(10_000, None, 8, mail=True) == 1  # one mail for the array as a whole


def test_a_large_array_is_shared_by_its_shepherds_and_controlled_as_one(cli: Cli) -> None:
    n = SHARED_FROM
    array = cli.submit("sh", "-c", "echo $PPID", options=["--hold", "--array", f"1-{n}%3"])
    assert cli("release", array).code == 0  # one request to each shepherd
    assert cli("wait", array).code == 0
    parents = {(cli.home / "output" / f"{array}.{i}.out").read_text() for i in range(1, n + 1)}
    cores = os.cpu_count() or 1
    assert len(parents) == shepherds(n, 3, cores, mail=False) == min(cores, 2), parents


def test_tasks_in_turn_get_an_empty_tmpdir_whatever_the_last_one_left_there(cli: Cli, tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_text("mine")
    # The first task leaves a file and then puts a link to a directory of the user's in its TMPDIR's place.
    first = f'touch "$TMPDIR/left"; mv "$TMPDIR" "$TMPDIR.gone"; ln -s {keep} "$TMPDIR"'
    second = 'test -d "$TMPDIR" && test ! -L "$TMPDIR" && test -z "$(ls -A "$TMPDIR")" && echo clean'
    script = f'if [ "$DRMAA2_TASK_ID" = 1 ]; then {first}; else {second}; fi'
    array = cli.submit("sh", "-c", script, options=["--array", "1-2%1"])
    assert cli("wait", array).code == 0
    assert cli("logs", f"{array}.2").out == "clean\n"
    assert (keep / "file").read_text() == "mine"

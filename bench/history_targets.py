"""Target 12: ``status`` with a million finished records in the history, and ``rm --finished`` of 100k."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from .history import make_history, store_bytes
from .measure import Case, Run
from .model import MET, NOT_MET, Context, Result, Row

STATUS_MS = 300.0
RM_MS = 5000.0


def _label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 and size % 1_000_000 == 0 else \
        f"{size // 1000}k" if size >= 1000 else str(size)


def _restore(pristine: Path, home: Path) -> Callable[[], None]:
    """Put the history back before each run of ``rm --finished`` (each run removes it)."""

    def restore() -> None:
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(pristine, home, symlinks=True)

    return restore


def _emptied(ctx: Context, home: Path) -> Callable[[Run], str | None]:
    """A run of ``rm --finished`` counts when no record is left."""

    def check(_: Run) -> str | None:
        out = ctx.call(home, "status", "--json", "--all", "--limit", "0").stdout
        left = len(json.loads(out)["jobs"])
        return None if left == 0 else f"{left} record(s) left after rm --finished"

    return check


def history_scale(ctx: Context) -> Result:
    """``status`` and ``status --json`` with ``big_history`` records (1M), beside the floor; ``rm --finished``
    of ``rm_history`` records (100k), each run on a fresh copy of the same history."""
    big, small = ctx.sizes.big_history, ctx.sizes.rm_history
    result = Result(12, f"`status` with {_label(big)} finished records in history; `rm --finished` of "
                    f"{_label(small)}", f"`status` (table and `--json`) ≤ {STATUS_MS:g} ms; `rm --finished` ≤ "
                    f"{RM_MS / 1000:g} s")
    home = ctx.home(f"history-{big}")
    took = make_history(home, big)
    result.rows.append(Row(f"history of {_label(big)} records written through the store API",
                           value=f"{took:.1f} s, {store_bytes(home) / 2**20:.0f} MiB on disk"))
    floor = ctx.floor()
    table = Case(f"`drmaa2 status`, {_label(big)} records", ctx.cli("status"), ctx.env(home))
    as_json = Case(f"`drmaa2 status --json`, {_label(big)} records", ctx.cli("status", "--json"), ctx.env(home))
    ctx.measure([floor, table, as_json])

    doomed = ctx.home(f"rm-{small}")
    took = make_history(doomed, small)
    pristine = doomed.with_name(doomed.name + "-pristine")
    shutil.copytree(doomed, pristine, symlinks=True)
    result.rows.append(Row(f"history of {_label(small)} records written through the store API (copied back "
                           "before each run)",
                           value=f"{took:.1f} s, {store_bytes(doomed) / 2**20:.0f} MiB on disk"))
    rm = Case(f"`drmaa2 rm --finished`, {_label(small)} records", ctx.cli("rm", "--finished"), ctx.env(doomed),
              before=_restore(pristine, doomed), check=_emptied(ctx, doomed))
    ctx.measure([rm], repeat=ctx.sizes.rm_repeat)
    # The million-record home is the largest thing the benchmark writes (about 0.7 GiB): gone at once.
    for path in (home, doomed, pristine):
        shutil.rmtree(path, ignore_errors=True)
    result.rows += [Row.of(floor), Row.of(table), Row.of(as_json), Row.of(rm)]
    figures = [c.wall() for c in (table, as_json, rm)]
    if any(f is None for f in figures):
        result.verdict = NOT_MET
        result.note = next((c.errors[0] for c in (table, as_json, rm) if c.errors), "a case did not run")
        return result
    t, j, r = (f.median for f in figures if f is not None)
    result.measured = f"status {t:.0f} ms / {j:.0f} ms (table / json); rm --finished {r / 1000:.2f} s"
    result.verdict = MET if max(t, j) <= STATUS_MS and r <= RM_MS else NOT_MET
    if ctx.sizes.smoke:
        result.note = "smoke sizes: the figures say nothing about the target"
    return result

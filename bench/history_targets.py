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
#: A case this far past its limit is stopped (and not run again): the run stays bounded in time.
GIVE_UP_S = 60.0


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
    table = Case(f"`drmaa2 status`, {_label(big)} records", ctx.cli("status"), ctx.env(home), timeout=GIVE_UP_S)
    as_json = Case(f"`drmaa2 status --json`, {_label(big)} records", ctx.cli("status", "--json"), ctx.env(home),
                   timeout=GIVE_UP_S)
    ctx.measure([floor, table, as_json])

    doomed = ctx.home(f"rm-{small}")
    took = make_history(doomed, small)
    pristine = doomed.with_name(doomed.name + "-pristine")
    shutil.copytree(doomed, pristine, symlinks=True)
    result.rows.append(Row(f"history of {_label(small)} records written through the store API (copied back "
                           "before each run)",
                           value=f"{took:.1f} s, {store_bytes(doomed) / 2**20:.0f} MiB on disk"))
    rm = Case(f"`drmaa2 rm --finished`, {_label(small)} records", ctx.cli("rm", "--finished"), ctx.env(doomed),
              before=_restore(pristine, doomed), check=_emptied(ctx, doomed), timeout=GIVE_UP_S)
    ctx.measure([rm], repeat=ctx.sizes.rm_repeat)
    # The million-record home is the largest thing the benchmark writes (about 0.7 GiB): gone at once.
    for path in (home, doomed, pristine):
        shutil.rmtree(path, ignore_errors=True)
    result.rows += [Row.of(floor), Row.of(table), Row.of(as_json), Row.of(rm)]
    parts: list[str] = []
    ok = True
    for name, cases, limit in (("status", (table, as_json), STATUS_MS), ("rm --finished", (rm,), RM_MS)):
        walls = [c.wall() for c in cases]
        if any(w is None for w in walls):
            failed = next(c for c, w in zip(cases, walls, strict=True) if w is None)
            parts.append(f"{name}: {failed.errors[0] if failed.errors else 'no run succeeded'}")
            ok = False
            continue
        medians = [w.median for w in walls if w is not None]
        parts.append(f"{name} " + " / ".join(f"{m:.0f} ms" if m < 10_000 else f"{m / 1000:.1f} s"
                                            for m in medians) + (" (table / json)" if len(medians) > 1 else ""))
        ok = ok and max(medians) <= limit
    result.measured = "; ".join(parts)
    result.verdict = MET if ok else NOT_MET
    if ctx.sizes.smoke:
        result.note = "smoke sizes: the figures say nothing about the target"
    return result

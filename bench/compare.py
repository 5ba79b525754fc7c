"""``python -m bench.compare BEFORE.json AFTER.json``: two result files' drmaa2 figures side by side, as markdown.

For a change that should make drmaa2 faster: run ``bench/run`` before and after it (``--drmaa2`` can point at
another installation) and compare. Rows are matched by target and label; peers are left out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OURS = ("drmaa2", "supervisor", "floor")


def _figure(row: dict[str, Any] | None) -> str:
    if row is None:
        return "–"
    if row.get("value"):
        return str(row["value"])
    wall = row.get("wall_ms")
    if not wall:
        return str(row.get("note") or "–")
    text = f"{wall['median']:.1f} ms ({wall['min']:.1f}–{wall['max']:.1f})"
    cpu = row.get("cpu_ms")
    return text + (f", CPU {cpu['median']:.1f} ms" if cpu else "")


def table(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old_rows = {(r["number"], row["label"]): row for r in before["results"] for row in r["rows"]}
    old_results = {r["number"]: r for r in before["results"]}
    lines = ["| # | case | before | after |", "|---|---|---|---|"]
    for result in after["results"]:
        old = old_results.get(result["number"], {})
        lines.append(f"| {result['number']} | **{result['what']}** (target {result['target']}) | "
                     f"{old.get('measured', '–')}, {old.get('verdict', '–')} | "
                     f"{result['measured']}, {result['verdict']} |")
        for row in result["rows"]:
            if any(word in row["label"] for word in OURS):
                lines.append(f"| | {row['label']} | {_figure(old_rows.get((result['number'], row['label'])))} | "
                             f"{_figure(row)} |")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m bench.compare BEFORE.json AFTER.json\n")
        return 2
    before, after = (json.loads(Path(p).read_text()) for p in argv)
    sys.stdout.write("\n".join(table(before, after)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

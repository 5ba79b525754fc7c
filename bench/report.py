"""The results as markdown and JSON, the machine they were measured on, and the table in docs/performance.md."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .model import ROUND_THREE, ROUND_TWO, Result
from .peers import ROOT, Peer

DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _first(path: str, key: str) -> str | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip('"\n ')
    except OSError:
        pass
    return None


def machine(python: str) -> dict[str, Any]:
    """What the figures depend on: CPU, cores, memory, OS, kernel, interpreter, load, the code measured."""
    mem = _first("/proc/meminfo", "MemTotal")
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True, check=False).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                            text=True, check=False).stdout.strip()
    return {
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
        "os": _first("/etc/os-release", "PRETTY_NAME"),
        "kernel": platform.release(),
        "python": version,
        "drmaa2_commit": commit or None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(results: Sequence[Result]) -> list[str]:
    """The summary: one line per target."""
    lines = ["| # | what | target | measured (median) | verdict |", "|---|---|---|---|---|"]
    for r in results:
        verdict = r.verdict + (f": {r.note}" if r.note else "")
        cells = [str(r.number), r.what, r.target, r.measured, verdict]
        lines.append("| " + " | ".join(map(_cell, cells)) + " |")
    return lines


def rounds(results: Sequence[Result]) -> list[str]:
    """One summary table per round: the first round's targets (1-8), the second's (9-15, issue #21) and the
    third's (16-20 and 23, issue #28)."""
    lines: list[str] = []
    for title, mine in (("First round: targets 1–8", [r for r in results if r.number < ROUND_TWO]),
                        ("Second round (issue #21): targets 9–15",
                         [r for r in results if ROUND_TWO <= r.number < ROUND_THREE]),
                        ("Third round (issue #28): targets 16–20 and 23",
                         [r for r in results if r.number >= ROUND_THREE])):
        if mine:
            lines += [*([""] if lines else []), f"**{title}**", "", *table(mine)]
    return lines


def details(results: Sequence[Result]) -> list[str]:
    """Every row of every target: wall time median (min–max), CPU time median, or the figure measured."""
    lines: list[str] = []
    for r in results:
        if not r.rows:
            continue
        lines += ["", f"**{r.number}. {r.what}** (target {r.target})", "",
                  "| case | wall time (or the figure named), median (min–max) | CPU time, median | note |",
                  "|---|---|---|---|"]
        for row in r.rows:
            wall = row.value or (row.wall.text() if row.wall else "–")
            cpu = f"{row.cpu.median:.1f} ms" if row.cpu else "–"
            lines.append(f"| {_cell(row.label)} | {_cell(wall)} | {cpu} | {_cell(row.note)} |")
    return lines


def _relative(arg: str) -> str:
    """A path inside the checkout as the checkout names it (``bench/.venv/bin/drmaa2``): the docs must not
    carry the measuring machine's paths."""
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return arg.removeprefix(root)


def markdown(results: Sequence[Result], info: dict[str, Any], peers: Sequence[Peer], settings: dict[str, Any],
             ) -> str:
    load = info["load_average"]
    end_load = info.get("load_average_end", load)
    lines = [
        f"Measured {info['started']} on {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"{info['os']}, kernel {info['kernel']}, Python {info['python']}; checkout {info['drmaa2_commit']}, "
        f"command measured `{' '.join(_relative(a) for a in settings['drmaa2'])}`. "
        f"Load average {load[0]} at the start, {end_load[0]} at the end. "
        + (f"{settings['repeat']} interleaved repetitions per timed case after one warm-up run; medians with "
           "min–max." if not settings["smoke"]
           else "Smoke run: one repetition, tiny sizes; the figures mean nothing."),
        "",
        "Peers: " + "; ".join(p.status() if p.available else f"{p.name}: {p.status()}" for p in peers) + ".",
        "",
        *rounds(results),
        *details(results),
    ]
    return "\n".join(lines) + "\n"


def write(out_dir: Path, stamp: str, results: Sequence[Result], info: dict[str, Any], peers: Sequence[Peer],
          settings: dict[str, Any]) -> tuple[Path, Path]:
    """``out_dir/STAMP.md`` and ``.json``, copied to ``latest.md`` / ``latest.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(results, info, peers, settings)
    doc = {"schema_version": 1, "machine": info, "settings": settings,
           "peers": [{"name": p.name, "available": p.available, "version": p.version, "reason": p.reason}
                     for p in peers],
           "results": [r.to_json() for r in results]}
    md, js = out_dir / f"{stamp}.md", out_dir / f"{stamp}.json"
    md.write_text(text)
    js.write_text(json.dumps(doc, indent=2) + "\n")
    (out_dir / "latest.md").write_text(text)
    (out_dir / "latest.json").write_text(json.dumps(doc, indent=2) + "\n")
    return md, js


def update_docs(text: str, path: Path = DOCS) -> None:
    """Replace the generated part of docs/performance.md (between the bench markers) with ``text``."""
    doc = path.read_text()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path} has no {BEGIN} … {END} section to replace")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")

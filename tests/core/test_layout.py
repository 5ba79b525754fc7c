"""The house's map: the README's "Layout" table lists the layers of ``.importlinter`` in the same order, and
``lint-imports`` keeps the code to them (no layer imports one above it, no import cycle)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract_layers() -> list[set[str]]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    lines = parser["importlinter:contract:layers"]["layers"].split("\n")
    return [{name.removeprefix("drmaa2cli.") for name in re.split(r"\s*[|:]\s*", line.strip())}
            for line in lines if line.strip()]


def _readme_layers() -> list[set[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Layout", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [set(re.findall(r"`([^`]+)`", row.split("|")[1])) for row in rows]


def test_the_readme_lists_the_layers_of_the_contract_in_order() -> None:
    assert _readme_layers() == _contract_layers()


def test_every_module_of_the_package_is_in_a_layer() -> None:
    named = {name.split(".")[0] for name in set().union(*_contract_layers())}
    top = {p.stem if p.is_file() else p.name for p in (ROOT / "drmaa2cli").iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert top - named == set(), "modules in no layer of .importlinter"

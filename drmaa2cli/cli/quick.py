"""`drmaa2 submit` without the parser: the command line of a plain submit read here, so that the most frequent
command does not load Typer (~40% of a submit's CPU time, import and the command's build).

Only what reads one way is taken: known options written whole (``--name X``, ``--name=X``, ``-N X``, flags),
each single-value option once, then ``--`` or the first word of the command. Anything else -- ``--help``, a
cluster of short options (``-jH``), a value stuck to a short option (``-Nname``), an option given twice, a
number that is no integer in range, a missing value, a job script, completion -- returns None, and the
parser itself runs the command, with its own help and messages. The table is made from the same declarations
as the `submit` command Typer builds (``commands.options``), and checked against it (tests/cli/test_quick.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..commands.options import DEFAULTS, SUBMIT

#: Flag -> (parameter of the submit command, kind): "flag" (no value), "one" (a string), "many" (repeatable, a
#: list of strings), "int" (an integer within RANGES[parameter]); made from the options' declarations.
OPTIONS: dict[str, tuple[str, str]] = {flag: (o.param, o.kind) for o in SUBMIT for flag in o.flags}
RANGES: dict[str, tuple[int, int]] = {o.param: o.bounds for o in SUBMIT if o.bounds is not None}


def submit_options(args: Sequence[str]) -> dict[str, Any] | None:
    """The keyword arguments the submit command gets for ``args`` (``["submit", ...]``), or None when
    the parser must read them (see the module docstring)."""
    if not args or args[0] != "submit" or "_DRMAA2_COMPLETE" in os.environ:
        return None
    found: dict[str, Any] = {}
    i = 1
    command: list[str] = []
    while i < len(args):
        word = args[i]
        if word == "--":
            command = list(args[i + 1:])
            break
        if word[:1] != "-" or word == "-":
            command = list(args[i:])
            break
        option, equals, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if option not in OPTIONS:
            return None
        param, kind = OPTIONS[option]
        if kind == "flag":
            if equals:
                return None
            found[param] = True
        else:
            if not equals:
                if i + 1 >= len(args):
                    return None
                i += 1
                value = args[i]
            if kind == "many":
                found.setdefault(param, []).append(value)
            elif param in found:
                return None
            elif kind == "int":
                try:
                    number = int(value)  # as the parser reads it: " 7", "+7", "1_000" too
                except ValueError:
                    return None
                if not RANGES[param][0] <= number <= RANGES[param][1]:
                    return None
                found[param] = number
            else:
                found[param] = value
        i += 1
    if not command or os.path.isfile(command[0]):
        return None  # a job script: its directives are read by the parser
    return {"command": command, **DEFAULTS, **found}

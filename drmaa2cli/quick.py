"""`drmaa2 submit` without the parser: the command line of a plain submit read here, so that the most frequent
command does not load Typer (~40% of a submit's CPU time, import and the command's build).

Only what reads one way is taken: known options written whole (``--name X``, ``--name=X``, ``-N X``, flags),
each single-value option once, then ``--`` or the first word of the command. Anything else -- ``--help``, a
cluster of short options (``-jH``), a value stuck to a short option (``-Nname``), an option given twice, a
number that is no integer in range, a missing value, a job script, completion -- returns None, and the
parser itself runs the command, with its own help and messages. The table is checked against the `submit`
command Typer builds (tests/test_quick.py), so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

#: Option -> (parameter of ``commands.submit.command``, kind): "flag" (no value), "one" (a string), "many"
#: (repeatable, a list of strings), "priority" and "retries" (an integer in RANGES[kind]).
OPTIONS: dict[str, tuple[str, str]] = {
    "--name": ("name", "one"), "-N": ("name", "one"),
    "--session": ("session", "one"), "-s": ("session", "one"),
    "--backend": ("backend", "one"), "-b": ("backend", "one"),
    "--cwd": ("cwd", "one"), "-d": ("cwd", "one"),
    "--env": ("env", "many"),
    "--variables": ("variables", "many"), "-v": ("variables", "many"),
    "--export-all": ("export_all", "flag"), "-V": ("export_all", "flag"),
    "--export": ("export", "one"),
    "--input": ("input_path", "one"), "-i": ("input_path", "one"),
    "--output": ("output_path", "one"), "-o": ("output_path", "one"),
    "--error": ("error_path", "one"), "-e": ("error_path", "one"),
    "--join": ("join", "flag"), "-j": ("join", "flag"),
    "--timeout": ("timeout", "one"), "-t": ("timeout", "one"),
    "--array": ("array", "one"), "-A": ("array", "one"),
    "--after": ("after", "many"),
    "--after-any": ("after_any", "many"),
    "--hold": ("hold", "flag"), "-H": ("hold", "flag"),
    "--image": ("image", "one"),
    "--app": ("app", "one"),
    "--category": ("category", "one"),
    "--queue": ("queue", "one"), "-q": ("queue", "one"),
    "--priority": ("priority", "priority"),
    "--begin": ("begin", "one"),
    "--deadline": ("deadline", "one"),
    "--retries": ("retries", "retries"),
    "--retry-delay": ("retry_delay", "one"),
    "--memory": ("memory", "one"),
    "--cpus": ("cpus", "one"),
    "--disk": ("disk", "one"),
    "--mount": ("mount", "many"),
    "--user": ("user", "one"),
    "--pull": ("pull", "flag"),
    "--native": ("native", "one"),
    "--wait": ("wait", "flag"), "-W": ("wait", "flag"),
    "--terse": ("terse", "flag"),
    "--json": ("json_out", "flag"),
}
RANGES = {"priority": (-1_000_000, 1_000_000), "retries": (0, 1000)}
#: What the command receives for an option not given.
DEFAULTS: dict[str, Any] = {
    param: False if kind == "flag" else 0 if kind in RANGES else None for param, kind in OPTIONS.values()
}


def submit_options(args: Sequence[str]) -> dict[str, Any] | None:
    """The keyword arguments ``commands.submit.command`` gets for ``args`` (``["submit", ...]``), or None when
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
            elif kind in RANGES:
                try:
                    number = int(value)  # as the parser reads it: " 7", "+7", "1_000" too
                except ValueError:
                    return None
                if not RANGES[kind][0] <= number <= RANGES[kind][1]:
                    return None
                found[param] = number
            else:
                found[param] = value
        i += 1
    if not command or os.path.isfile(command[0]):
        return None  # a job script: its directives are read by the parser
    return {"command": command, **DEFAULTS, **found}

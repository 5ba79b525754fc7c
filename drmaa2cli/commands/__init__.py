"""One thin module per subcommand: parse options, call one core function, render.

These modules do not use ``from __future__ import annotations``: Typer reads the options from the
annotations on every run, and evaluating them from strings costs ~3 ms of each submit (31 options).
"""

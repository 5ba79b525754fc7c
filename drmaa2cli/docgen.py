"""Generate the man page, the shell completion scripts and the README's backend contract table from the code
(the CLI definition, the backends' declared refusals), so they never drift.

    python -m drmaa2cli.docgen           # rewrite man/drmaa2.1, completions/* and README.md's contract table
    python -m drmaa2cli.docgen --check   # exit 1 if a committed file differs from what would be generated
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any

import typer

from . import __version__
from .backends import REGISTRY, backend_class
from .backends.contract import modes_table, table
from .cli.app import app
from .errors import EXIT_CODE_HELP

ROOT = Path(__file__).resolve().parent.parent
SHELLS = {"bash": "drmaa2.bash", "zsh": "_drmaa2", "fish": "drmaa2.fish"}
COMPLETE_VAR = "_DRMAA2_COMPLETE"

ENVIRONMENT = {
    "DRMAA2_HOME": "The drmaa2 home: job store, default output files, config.toml. "
    "Default: $XDG_CONFIG_HOME/drmaa2, else ~/.config/drmaa2.",
    "DRMAA2_SESSION": "The job session when --session is not given (default: default).",
    "DRMAA2_BACKEND": "The backend when --backend is not given (default: process).",
    "DRMAA2_TRACEBACK": "When set, internal errors show their Python traceback.",
    "NO_COLOR": "When set, output has no colour. Output to a pipe is always plain.",
    "DRMAA2_JOB_ID, DRMAA2_TASK_ID, DRMAA2_SESSION": "Set in every job's environment: its job (or array) id, "
    "its task index in an array, its session.",
    "DRMAA2_NOTIFY_TIMEOUT": "How many seconds a --notify hook or sendmail may run before it is killed "
    "(default 30).",
}
FILES = {
    "$DRMAA2_HOME/jobs.json": "the live job store (TinyDB): active and recently finished single jobs, sessions, "
    "the arrays not ended",
    "$DRMAA2_HOME/arrays/N.json": "the tasks of array N, for the array's life",
    "$DRMAA2_HOME/archive/NNNNNN.json": "finished job records, 1000 job ids per file",
    "$DRMAA2_HOME/output/ID.out, ID.err": "a job's output when no --output/--error was given",
    "$DRMAA2_HOME/run/": "what job supervisors report (start and exit records)",
    "$DRMAA2_HOME/scripts/": "copies of submitted job scripts, taken at submission",
    "$DRMAA2_HOME/config.toml": "optional settings: session, backend, [backends.NAME] tables, [notify] command",
    "$DRMAA2_HOME/notify.log": "what a --notify hook or a job's mail could not do (one line each)",
}


def esc(text: str) -> str:
    """Roff-safe text: backslashes and hyphens escaped, no line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines())


def _param_line(param: Any) -> str:
    if param.param_type_name == "argument":
        name = (param.metavar or param.name).upper()
        return f"\\fI{esc(name)}\\fR" + ("..." if param.nargs == -1 else "")
    flags = ", ".join(f"\\fB{esc(o)}\\fR" for o in [*param.opts, *param.secondary_opts])
    if not param.is_flag:
        kind = {"integer": "N", "float": "NUMBER"}.get(param.type.name, "VALUE")
        flags += f" \\fI{kind}\\fR"
    return flags


def _command_section(path: str, command: Any, out: list[str]) -> None:
    if getattr(command, "hidden", False):
        return
    subcommands = getattr(command, "commands", None)
    out.append(f'.SS "{esc(path)}"')
    out.append(esc(command.help or command.short_help or ""))
    for param in command.params:
        if getattr(param, "hidden", False) or param.name in ("install_completion", "show_completion"):
            continue
        out.append(".TP")
        out.append(_param_line(param))
        out.append(esc(getattr(param, "help", None) or ""))
    if subcommands:
        for name, sub in sorted(subcommands.items()):
            _command_section(f"{path} {name}", sub, out)


def man_page() -> str:
    root = typer.main.get_command(app)
    out = [
        f'.TH DRMAA2 1 "" "drmaa2 {__version__}" "User Commands"',
        ".SH NAME",
        "drmaa2 \\- submit and supervise jobs through one DRMAA2 interface",
        ".SH SYNOPSIS",
        "\\fBdrmaa2\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR \\fIJOB COMMAND\\fR...]",
        ".SH DESCRIPTION",
        esc(root.help or ""),
        "Every command is documented below; `drmaa2 COMMAND --help` says the same.",
        ".SH COMMANDS",
    ]
    commands: dict[str, Any] = getattr(root, "commands", {})
    for name, command in commands.items():
        _command_section(f"drmaa2 {name}", command, out)
    out.append(".SH OPTIONS")
    for param in root.params:
        if param.name in ("install_completion", "show_completion"):
            continue
        out += [".TP", _param_line(param), esc(getattr(param, "help", None) or "")]
    out.append(".SH EXIT STATUS")
    for code, text in EXIT_CODE_HELP.items():
        out += [".TP", f"\\fB{esc(code)}\\fR", esc(text)]
    out.append(".SH ENVIRONMENT")
    for name, text in ENVIRONMENT.items():
        out += [".TP", f"\\fB{esc(name)}\\fR", esc(text)]
    out.append(".SH FILES")
    for name, text in FILES.items():
        out += [".TP", f"\\fI{esc(name)}\\fR", esc(text)]
    out += [".SH EXAMPLES", ".nf", esc("ID=$(drmaa2 submit --terse -- make test)\ndrmaa2 wait \"$ID\"; echo $?"),
            ".fi", ".SH SEE ALSO", "\\fBqsub\\fR(1), \\fBsbatch\\fR(1)"]
    return "\n".join(out) + "\n"


def completion_script(shell: str) -> str:
    """What the shell asks for when it loads drmaa2's completion: the script that `_DRMAA2_COMPLETE=source_SHELL
    drmaa2` prints (the completion protocol of the parser Typer is built on; Typer's own scripts)."""
    out = io.StringIO()
    saved = os.environ.get(COMPLETE_VAR)
    os.environ[COMPLETE_VAR] = f"source_{shell}"
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            typer.main.get_command(app).main([], prog_name="drmaa2", complete_var=COMPLETE_VAR)
    finally:
        if saved is None:
            del os.environ[COMPLETE_VAR]
        else:
            os.environ[COMPLETE_VAR] = saved
    return out.getvalue().strip() + "\n"


#: The README's contract table sits between these lines; everything else in the README is written by hand.
CONTRACT_BEGIN = "<!-- contract table: generated by python -m drmaa2cli.docgen -->"
CONTRACT_END = "<!-- end of contract table -->"
#: The backends in the README's column order.
BACKENDS = tuple(REGISTRY)  # the registry's order, as the docs list them


#: The binding's tables (what each backend supports, how errors map) sit between these lines.
BINDING_BEGIN = "<!-- binding tables: generated by python -m drmaa2cli.docgen -->"
BINDING_END = "<!-- end of binding tables -->"


def _between(current: str, begin: str, end: str, body: str) -> str:
    head, sep, rest = current.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not (sep and sep2):
        raise SystemExit(f"README.md lacks the lines {begin!r} ... {end!r}")
    return f"{head}{begin}\n{body}{end}{tail}"


def binding_tables() -> str:
    """The binding's coverage (``drmaa2.supports(capability, backend)`` for every capability and backend)
    and its error mapping (``exceptions.MAPPING``), as markdown."""
    from .binding import Capability, supports
    from .binding.exceptions import MAPPING

    rows = ["| capability | " + " | ".join(BACKENDS) + " |", "|---|" + "---|" * len(BACKENDS)]
    for cap in Capability:
        rows.append(f"| {cap.name} | " + " | ".join("yes" if supports(cap, b) else "no" for b in BACKENDS) + " |")
    rows += ["", "| drmaa2 error | exit status | binding exception |", "|---|---|---|"]
    for ours, theirs in MAPPING:
        rows.append(f"| `{ours.__name__}` | {int(ours.exit_status)} | `{theirs.__name__}` |")
    return "\n".join(rows) + "\n"


def readme(current: str) -> str:
    """``current`` with its contract table regenerated from the backends' ``refuses`` declarations, and the
    binding's tables from ``drmaa2.supports`` and the error mapping."""
    body = table((name, backend_class(name).refuses) for name in BACKENDS)
    body += "\n" + modes_table((name, backend_class(name).containment_modes) for name in BACKENDS)
    return _between(_between(current, CONTRACT_BEGIN, CONTRACT_END, body), BINDING_BEGIN, BINDING_END,
                    binding_tables())


def generated() -> dict[Path, str]:
    files = {ROOT / "man" / "drmaa2.1": man_page()}
    files[ROOT / "README.md"] = readme((ROOT / "README.md").read_text())
    for shell, name in SHELLS.items():
        files[ROOT / "completions" / name] = completion_script(shell)
    from .jobscript import table

    files[table.DOC] = table.document(table.DOC.read_text())
    return files


def main(argv: list[str]) -> int:
    stale = []
    for path, text in generated().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
    if "--check" in argv and stale:
        sys.stderr.write("out of date (run python -m drmaa2cli.docgen): " + ", ".join(map(str, stale)) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

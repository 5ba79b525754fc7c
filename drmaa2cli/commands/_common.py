"""Option types shared by several commands, and the one way commands get a Service and an Output."""

from typing import Annotated

import typer

from .. import completion, config
from ..render import Output
from ..service import Service

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print a JSON document (schema_version 1) on stdout and nothing else.")
]
SessionOption = Annotated[
    str | None,
    typer.Option("--session", "-s", help="Job session (default: $DRMAA2_SESSION, config file, 'default').",
                 show_default=False, autocompletion=completion.sessions),
]
JobIds = Annotated[
    list[str],
    typer.Argument(help="Job ids (12, or 12.3 for one array task).", show_default=False,
                   autocompletion=completion.job_ids),
]
BackendOption = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="Backend (default: $DRMAA2_BACKEND, config file, 'process').",
                 show_default=False, autocompletion=completion.backend_names),
]


def service(session: str | None = None, backend: str | None = None) -> Service:
    """The Service of a command: each distinct warning goes to stderr once, as it arises (an outage in a long
    `wait` or `status --watch` repeats the same one)."""
    said: set[str] = set()
    out = output()

    def warn(text: str) -> None:
        if text not in said:
            said.add(text)
            out.note(text)

    return Service(config.resolve({"session": session, "backend": backend}), warn=warn)


def output() -> Output:
    return Output.standard()

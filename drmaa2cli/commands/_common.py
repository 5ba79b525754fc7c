"""Option types shared by several commands, and (from ``_service``) the one way commands get a Service and an
Output."""

from typing import Annotated

import typer

from .. import completion
from ._service import output, service

__all__ = ["BackendOption", "JobIds", "JsonOption", "SessionOption", "output", "service"]

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

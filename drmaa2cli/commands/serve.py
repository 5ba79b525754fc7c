"""drmaa2 serve [--host H] [--port P | --socket PATH] [--tls-cert C --tls-key K] [--insecure];
drmaa2 serve token create [--read-only] [--expires DURATION]"""

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import config, parsing
from ..errors import BackendUnavailable, InvalidArgument

HELP = ("Serve this drmaa2 home's jobs over an authenticated HTTP API (/v1, OpenAPI at /openapi.json); "
        "`serve token create` makes a token. Needs `pip install 'drmaa2[serve]'`.")

app = typer.Typer(help=HELP, invoke_without_command=True, no_args_is_help=False)
token_app = typer.Typer(help="The server's bearer tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (not a loopback one: TLS, or --insecure).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port (0: any free one, printed).", min=0, max=65535)] = 8765,
    socket_path: Annotated[Path | None, typer.Option("--socket", help="Listen on this unix socket (0600) instead.")] = None,
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="TLS certificate file (PEM).")] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="TLS private key file (PEM).")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Allow plain HTTP on a non-loopback address.")] = False,
) -> int:
    """Serve this home's jobs over HTTP."""
    if ctx.invoked_subcommand is not None:
        return 0
    try:
        from ..serve.app import create_app
        from ..serve.listen import serve as listen
    except ImportError as e:
        raise BackendUnavailable(f"drmaa2 serve needs its extra: pip install 'drmaa2[serve]' ({e})") from None
    from ._service import output
    from .scripts import submit_script

    out = output()
    settings = config.resolve()
    if settings.remote:
        raise InvalidArgument("this home's config sends every command to a server ([remote]): a server cannot "
                              "serve it (use another DRMAA2_HOME)")
    # The server's own helpers (runners, watchers) work on this home, never through another server.
    os.environ.pop("DRMAA2_REMOTE", None)
    application = create_app(settings, script_submit=submit_script)

    def ready(where: str) -> None:
        out.note(f"serving {config.home_dir()} on {where} (tokens: `drmaa2 serve token create`)")
        out.err.flush()

    listen(application, host, port, socket_path, tls_cert, tls_key, insecure, ready)
    return 0


@token_app.command("create", help="Make a bearer token; printed once (its last line is the token), kept only as a hash.")
def create(
    read_only: Annotated[bool, typer.Option("--read-only", help="It may look, not submit or control.")] = False,
    expires: Annotated[str | None, typer.Option("--expires", help=f"Valid for this long ({parsing.DURATION_HELP}).")] = None,
) -> int:
    from ..serve import tokens
    from ._service import output

    seconds = parsing.duration(expires, "--expires") if expires else None
    token_id, token = tokens.create(config.home_dir(), read_only, seconds)
    out: Any = output()
    out.note(f"token {token_id}{' (read-only)' if read_only else ''}"
             f"{f', valid for {expires}' if expires else ''}: shown once, keep it secret")
    out.line(token)
    return 0

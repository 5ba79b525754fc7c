"""Option types shared by several commands, the Typer signature of `submit` and `run` made from their
declarations (``options.SUBMIT``), and (from ``_service``) the one way commands get a Service and an Output."""

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..errors import InvalidArgument
from . import completion, options
from ._service import output, service

__all__ = ["BackendOption", "JobIds", "JsonOption", "SessionOption", "command_from", "output", "parse_directive",
           "service"]

def typer_option(option: options.Option) -> Any:
    """What Typer reads of one declared option."""
    extra: dict[str, Any] = {}
    if option.bounds is not None:
        extra["min"], extra["max"] = option.bounds
    if option.complete is not None:
        extra["autocompletion"] = getattr(completion, option.complete)
    if not option.show_default:
        extra["show_default"] = False
    return typer.Option(*option.flags, help=option.help, **extra)


#: Option kind -> its annotation: the Python type Typer reads the value as, with the option's declaration.
_ANNOTATED: dict[str, Callable[[Any], Any]] = {
    "flag": lambda info: Annotated[bool, info],
    "one": lambda info: Annotated[str | None, info],
    "many": lambda info: Annotated[list[str] | None, info],
    "int": lambda info: Annotated[int, info],
}

JsonOption = Annotated[bool, typer_option(options.JSON)]
SessionOption = Annotated[str | None, typer_option(options.SESSION)]
BackendOption = Annotated[str | None, typer_option(options.BACKEND)]
JobIds = Annotated[
    list[str],
    typer.Argument(help="Job ids (12, or 12.3 for one array task).", show_default=False,
                   autocompletion=completion.job_ids),
]
_COMMAND = Annotated[list[str] | None, typer.Argument(help="The command and its arguments.", show_default=False)]


def command_from(body: Callable[[dict[str, Any]], int], name: str) -> Callable[..., int]:
    """A command taking the job's command and every option of ``options.SUBMIT`` (Typer reads the signature
    made here); it hands them to ``body`` as one dict by parameter name."""

    def command(**given: Any) -> int:
        return body(given)

    command.__signature__ = _signature()  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in _signature().parameters.values()} | {"return": int}
    command.__name__ = command.__qualname__ = name
    return command


@functools.cache
def _signature() -> inspect.Signature:
    """The signature of `submit` and `run`, made once (both commands are loaded with the app)."""
    params = [inspect.Parameter("command", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_COMMAND)]
    params += [inspect.Parameter(o.param, inspect.Parameter.KEYWORD_ONLY, default=o.default,
                                 annotation=_ANNOTATED[o.kind](typer_option(o))) for o in options.SUBMIT]
    return inspect.Signature(params, return_annotation=int)


def parse_directive(words: list[str]) -> dict[str, Any]:
    """The options a #DRMAA2 line sets, read by the submit command's own parser. Raises InvalidArgument."""
    one = typer.Typer()
    one.command(context_settings={"help_option_names": []})(command_from(lambda o: 0, "directive"))
    parser = typer.main.get_command(one)
    try:
        ctx = parser.make_context("#DRMAA2", list(words))
    except Exception as e:
        message = getattr(e, "format_message", None)
        if callable(message):  # the parser's usage error (see cli.entry._is_usage_error)
            raise InvalidArgument(str(message())) from None
        raise
    defaults = {p.name: p.get_default(ctx) for p in parser.params}
    found = {k: v for k, v in ctx.params.items() if v not in (None, False, [], ()) and v != defaults.get(k)}
    if found.pop("command", None):
        raise InvalidArgument("a #DRMAA2 line holds options, not a command")
    return found

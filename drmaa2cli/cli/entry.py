"""The ``drmaa2`` command: runs the command line, and is the one place that turns errors into exit codes
(commands return an int and never exit themselves). A plain `submit` runs without the parser (``quick``); every
other command line goes through the Typer app (``app``), loaded only then."""

from __future__ import annotations

import atexit
import errno
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO, cast

from ..errors import Drmaa2Error, ExitStatus
from ..render import printable, safe_streams


def _run(args: list[str]) -> int:
    from .quick import submit_options

    options = submit_options(args)
    if options is not None:
        return _submit(options)
    from .app import command_for

    result = command_for(args).main(args=args, prog_name="drmaa2", standalone_mode=False)
    return result if isinstance(result, int) else 0


def _submit(options: dict[str, Any]) -> int:
    """The submit command's work, with what the parser does around a command it runs: Ctrl-C is exit 130
    without a word, an end of input a line and exit 130, a closed stdout exit 1."""
    from ..commands.submitting import submit_with

    try:
        return submit_with(options, stream=False)
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    except EOFError as e:
        sys.stderr.write("\n")
        raise KeyboardInterrupt from e
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise
        sys.stdout = cast(TextIO, _QuietFlush(sys.stdout))
        sys.stderr = cast(TextIO, _QuietFlush(sys.stderr))
        sys.exit(1)


class _QuietFlush:
    """A stream whose reader went away: the flushes at exit must not raise EPIPE again (what the parser's own
    wrapper does for a command it runs). Everything else is the stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _is_abort(e: Exception) -> bool:
    """The parser's Abort (an end of input while a command ran); only the parser raises it, so when it is not
    loaded there is none."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(e, typer.Abort)


def _is_usage_error(e: Exception) -> bool:
    """A command-line error of the parser Typer is built on (a usage error, a bad value, a bare `drmaa2`).

    Typer vendors that parser privately, so its exception classes are known by their public behaviour (an
    ``exit_code`` and a ``format_message``), not imported: a Typer release that moves them changes nothing."""
    return isinstance(getattr(e, "exit_code", None), int) and callable(getattr(e, "format_message", None))


def _usage(e: Any) -> int:
    """Print a parser error in drmaa2's one-line form; `drmaa2` alone prints the help, as a success."""
    if type(e).__name__ == "NoArgsIsHelpError":
        sys.stdout.write(e.format_message() + "\n")
        return ExitStatus.OK
    ctx = getattr(e, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    sys.stderr.write(f"drmaa2: {printable(e.format_message())}{hint}\n")
    return ExitStatus.USAGE


def _internal(e: Exception) -> int:
    sys.stderr.write(
        f"drmaa2: internal error: {type(e).__name__}: {printable(str(e))} (run with --traceback for details)\n"
    )
    return ExitStatus.INTERNAL


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``drmaa2`` command."""
    safe_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or bool(os.environ.get("DRMAA2_TRACEBACK"))
    code: int
    try:
        code = _run(args)
    except Drmaa2Error as e:
        if show_traceback:
            raise
        sys.stderr.write(f"drmaa2: {printable(str(e))}\n")
        code = e.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        code = ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`drmaa2 status | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitStatus.OK
    except Exception as e:
        if _is_abort(e):
            sys.stderr.write("\n")
            code = ExitStatus.INTERRUPTED
        elif _is_usage_error(e):
            code = _usage(e)
        elif show_traceback:
            raise
        else:
            code = _internal(e)
    sys.stdout.flush()
    if argv is None:
        # The drmaa2 command itself: skip the interpreter's teardown of every loaded module, ~10 ms of CPU
        # (a sixth of a submit). Exit handlers still run and both streams are flushed; nothing else holds
        # buffered output (store files are written with os.write and fsync).
        atexit._run_exitfuncs()
        sys.stderr.flush()
        os._exit(int(code))
    sys.exit(int(code))

"""One error hierarchy for the whole tool, and the exit codes it maps to.

Backends convert their library's errors at their edge (``raise BackendUnavailable(...) from e``); the CLI
maps a ``Drmaa2Error`` to its ``exit_status`` in one place (``entry.main``). The DRMAA2 error names
(InvalidArgument, InvalidState, UnsupportedOperation, ...) are kept so that library users recognise them.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Exit codes of ``drmaa2`` itself.

    ``wait``, ``run`` and ``submit --wait`` exit with the job's own status (0-255, or 128+N when the job was
    killed by signal N) when they could wait; drmaa2's own failures use 200-208, which no signal-killed job
    produces (128+N stays below 193), plus 124 for an expired ``--timeout`` and 130 for Ctrl-C.
    """

    OK = 0
    TIMEOUT = 124
    INTERRUPTED = 130
    INTERNAL = 200
    USAGE = 201
    NOT_FOUND = 202
    BACKEND_UNAVAILABLE = 203
    UNSUPPORTED = 204
    INVALID_STATE = 205
    STORE = 206
    NO_EXIT_STATUS = 207
    DENIED = 208


class Drmaa2Error(Exception):
    """Base of every error drmaa2 reports; ``str(err)`` is the one line the user sees.

    ``transient`` marks errors that may succeed when tried again (an engine restarting, HTTP 5xx).
    """

    exit_status: ExitStatus = ExitStatus.INTERNAL
    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if transient is not None:
            self.transient = transient

    def __str__(self) -> str:
        return self.message


class InvalidArgument(Drmaa2Error):
    """A malformed option, a template a backend cannot run, a missing command."""

    exit_status = ExitStatus.USAGE


class UnsupportedAttribute(InvalidArgument):
    """A job template field the chosen backend cannot honour (never dropped silently). ``field`` names it
    (``queue_name``, ``resource_limits.disk_mb``, ``extension.user``), so the CLI can say which option it was."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class JobNotFound(Drmaa2Error):
    """An unknown job id (or a job removed by ``rm``)."""

    exit_status = ExitStatus.NOT_FOUND


class SessionNotFound(JobNotFound):
    """An unknown job session name."""


class BackendUnavailable(Drmaa2Error):
    """The engine, scheduler or API cannot be reached, or the backend's library is missing."""

    exit_status = ExitStatus.BACKEND_UNAVAILABLE
    transient = True


class DeniedByDrms(Drmaa2Error):
    """The backend refused us: socket permission, expired or bad credentials."""

    exit_status = ExitStatus.DENIED


class UnsupportedOperation(Drmaa2Error):
    """The backend cannot do this at all (for example: Cloud Foundry tasks cannot be suspended)."""

    exit_status = ExitStatus.UNSUPPORTED


class InvalidState(Drmaa2Error):
    """The operation is not valid in the job's (or session's) current state."""

    exit_status = ExitStatus.INVALID_STATE


class StoreError(Drmaa2Error):
    """The job store cannot be read or written: corrupt file, foreign file, unwritable home."""

    exit_status = ExitStatus.STORE


class WaitTimeout(Drmaa2Error):
    """``wait --timeout`` expired while a job was still active."""

    exit_status = ExitStatus.TIMEOUT


#: One line per exit code, for the man page and `--help` epilogs (the README's table says the same).
EXIT_CODE_HELP: dict[str, str] = {
    "0": "success; for wait, run and submit --wait: every job done",
    "1-255": "wait, run, submit --wait, logs --follow: the job's own exit status, or 128+N if signal N killed it",
    "124": "wait --timeout expired while a job was still active",
    "127": "the job's command was not found (the job is failed, annotated)",
    "130": "interrupted (Ctrl-C)",
    "200": "internal error (a bug; --traceback shows the Python traceback)",
    "201": "usage error: unknown option or command, malformed value, missing command, unknown backend, a job "
    "script directive the backend cannot honour; a job refused before anything is written (a value out of range, "
    "a begin time not before the deadline, a command or file of this machine this user cannot use)",
    "202": "unknown job id or session",
    "203": "backend unavailable: engine, scheduler or API unreachable",
    "204": "the backend cannot do this operation",
    "205": "invalid state: kill a finished job, release a job that is not held, destroy a busy session",
    "206": "store error: corrupt or foreign store file, home not a directory or not writable",
    "207": "the job ended without an exit status (never started, or its supervisor died)",
    "208": "denied by the backend: socket permission, credentials",
}

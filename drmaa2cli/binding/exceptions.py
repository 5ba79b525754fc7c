"""The standard's exception classes, and the one mapping from drmaa2's errors onto them.

Each binding exception is also a ``Drmaa2Error``: it carries the message the CLI would print (without the
"drmaa2: " prefix) and the ``exit_status`` the CLI would exit with for the same failure, so a program and a
shell script hear the same thing. ``translated`` is applied at the binding's edge, to every public call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

# Absolute imports: this package is installed as the top-level package ``drmaa2``.
from drmaa2cli import errors
from drmaa2cli.errors import Drmaa2Error, ExitStatus


class DrmaaException(Drmaa2Error):
    """Base of the binding's exceptions (the reference derives each from Exception; this is one too)."""


class DeniedByDrmsException(DrmaaException):
    """The DRM system rejected the operation due to security issues."""

    exit_status = ExitStatus.DENIED


class DrmCommunicationException(DrmaaException):
    """The DRMAA implementation could not contact the DRM system."""

    exit_status = ExitStatus.BACKEND_UNAVAILABLE


class TryLaterException(DrmaaException):
    """A transient problem; retry the operation. (drmaa2 retries its engines itself and reports an engine
    that stays unreachable as DrmCommunicationException, so it does not raise this one.)"""

    exit_status = ExitStatus.BACKEND_UNAVAILABLE


class TimeoutException(DrmaaException):
    """The timeout of a waiting function was reached."""

    exit_status = ExitStatus.TIMEOUT


class InternalException(DrmaaException):
    """An unexpected or internal error, for example the job store cannot be read or written."""

    exit_status = ExitStatus.INTERNAL


class InvalidArgumentException(DrmaaException):
    """An input parameter is invalid or inappropriate (an unknown or reaped job too)."""

    exit_status = ExitStatus.USAGE


class InvalidSessionException(DrmaaException):
    """The session is not valid: closed, or no session of that name."""

    exit_status = ExitStatus.NOT_FOUND


class InvalidStateException(DrmaaException):
    """The operation is not allowed in the job's (or session's) current state."""

    exit_status = ExitStatus.INVALID_STATE


class OutOfResourceException(DrmaaException):
    """The implementation ran out of operating-system resources (not raised by drmaa2)."""

    exit_status = ExitStatus.INTERNAL


class UnsupportedAttributeException(DrmaaException):
    """A job template attribute the chosen backend cannot honour."""

    exit_status = ExitStatus.USAGE


class UnsupportedOperationException(DrmaaException):
    """The method is not supported by this backend (or by drmaa2: reservations, callbacks)."""

    exit_status = ExitStatus.UNSUPPORTED


class ImplementationSpecificException(DrmaaException):
    """A special error condition that none of the others names (not raised by drmaa2)."""


#: drmaa2's error class -> the binding's, most specific first (a subclass before its base). The README and
#: docs/binding.md show this table; tests/library/test_binding.py checks that every drmaa2 error is in it.
MAPPING: list[tuple[type[Drmaa2Error], type[DrmaaException]]] = [
    (errors.UnsupportedAttribute, UnsupportedAttributeException),
    (errors.InvalidArgument, InvalidArgumentException),
    (errors.SessionNotFound, InvalidSessionException),
    (errors.JobNotFound, InvalidArgumentException),
    (errors.BackendUnavailable, DrmCommunicationException),
    (errors.DeniedByDrms, DeniedByDrmsException),
    (errors.UnsupportedOperation, UnsupportedOperationException),
    (errors.InvalidState, InvalidStateException),
    (errors.StoreError, InternalException),
    (errors.WaitTimeout, TimeoutException),
    (Drmaa2Error, InternalException),
]


def translate(e: Drmaa2Error) -> DrmaaException:
    """The binding's exception for ``e``: same message, same exit status."""
    if isinstance(e, DrmaaException):
        return e
    cls = next(b for d, b in MAPPING if isinstance(e, d))
    out = cls(e.message, transient=e.transient)
    out.exit_status = e.exit_status
    return out


P = ParamSpec("P")
R = TypeVar("R")


def translated(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` raising the binding's exceptions instead of drmaa2's."""
    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except DrmaaException:
            raise
        except Drmaa2Error as e:
            raise translate(e) from e
    return call

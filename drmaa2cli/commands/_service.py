"""The one way commands get a Service and an Output; no parser here (``drmaa2cli.quick`` submits without it)."""

from .. import config
from ..render import Output
from ..service import Service


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

"""What the handlers of one server share: the settings of its home, the bounded pool that runs blocking core
calls, the limits, the remembered answers of idempotent submits, and the watcher of waited-for jobs."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .. import config
from ..service import Service
from .keys import Journal
from .tokens import Keyring
from .waiting import Watcher

T = TypeVar("T")
#: A submit's answer: its HTTP status and its document.
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Limits:
    """How much one request may cost the server."""

    body_bytes: int = 1 << 20  # a request body above this is refused (413)
    body_seconds: float = 30.0  # a client slower than this to send its body is cut off (408)
    core_threads: int = 8  # blocking core calls at once (the rest queue, not the event loop)
    streams: int = 64  # log streams followed at once (more: 503)
    waits: int = 1024  # long-polls at once (more: 503)
    wait_seconds: float = 60.0  # the longest one long-poll holds a request
    idempotency_keys: int = 4096  # submits remembered for retries (the oldest forgotten first)
    idempotency_seconds: float = 24 * 3600.0


@dataclass
class Remembered:
    """A submit under an idempotency key: done (its answer) or in progress (its event)."""

    done: anyio.Event = field(default_factory=anyio.Event)
    answer: Answer | None = None
    when: float = field(default_factory=time.monotonic)


class ServerState:
    def __init__(self, settings: config.Settings, limits: Limits | None = None,
                 script_submit: Callable[..., Any] | None = None) -> None:
        self.settings = settings
        self.limits = limits or Limits()
        self.keyring = Keyring(settings.home)
        self.limiter = anyio.CapacityLimiter(self.limits.core_threads)
        self.streams = anyio.CapacityLimiter(self.limits.streams)
        self.waits = anyio.CapacityLimiter(self.limits.waits)
        self.submits: OrderedDict[tuple[str, str], Remembered] = OrderedDict()
        #: The same submits, kept in the home for a server started anew (``keys``).
        self.journal = Journal(settings.home, self.limits.idempotency_seconds, self.limits.idempotency_keys)
        #: Submits a job script's text (made by the command, which has the script directives' parser).
        self.script_submit = script_submit
        self.watcher = Watcher(self.call)

    async def call(self, work: Callable[[Service], T]) -> tuple[T, list[str]]:
        """``work`` on a Service of this home, in a worker thread of the bounded pool; with the warnings it
        gave. A Service per call: the core's objects are not shared between threads."""
        def run() -> tuple[T, list[str]]:
            svc = Service(self.settings)
            return work(svc), svc.warnings

        return await anyio.to_thread.run_sync(run, limiter=self.limiter)

    async def once(self, token_id: str, key: str, submit: Callable[[], Awaitable[Answer]],
                   kept: Callable[[list[str]], Awaitable[dict[str, Any]]]) -> Answer:
        """The answer of ``submit`` done once for ``key`` of this token: by this request, by one before it (its
        answer, after waiting for it if it is still under way), or by a server before this one (``kept`` makes
        the answer from the jobs' ids). A submit that failed is not remembered: the next try submits anew."""
        while True:
            remembered, new = self.remembered(token_id, key)
            if not new:
                await remembered.done.wait()
            else:
                try:
                    journaled = self.journal.get(token_id, key)
                    if journaled is not None:
                        remembered.answer = journaled[0], await kept(journaled[1])
                    else:
                        remembered.answer = await submit()
                        status, answer = remembered.answer
                        self.journal.add(token_id, key, status, [job["id"] for job in answer["jobs"]])
                except BaseException:
                    self.submits.pop((token_id, key), None)  # not done: a retry does it
                    raise
                finally:
                    remembered.done.set()
            if remembered.answer is not None:  # else the first try failed: this one submits anew
                return remembered.answer

    def remembered(self, token_id: str, key: str) -> tuple[Remembered, bool]:
        """The submit under ``key`` of this token, and whether it is new (the caller then does it)."""
        now = time.monotonic()
        while self.submits and (len(self.submits) >= self.limits.idempotency_keys or
                                now - next(iter(self.submits.values())).when > self.limits.idempotency_seconds):
            self.submits.popitem(last=False)
        found = self.submits.get((token_id, key))
        if found is not None:
            return found, False
        found = self.submits[(token_id, key)] = Remembered()
        return found, True

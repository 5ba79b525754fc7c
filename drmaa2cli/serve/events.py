"""The event stream of the dashboard (``GET /v1/events``, ``text/event-stream``) and ``GET /v1/whoami``.

One broker task per server watches the home: every half second it stats the store's files (the live file, the
archive directory) and the process backend's run directory (where its shepherds write a job's start and end),
and while jobs are active it asks their backends again every few seconds (the engines' own changes reach no
file here). Only when something changed does it read the store, in the server's thread pool, with each
archive shard's rows kept until that shard's file changes; it then pushes the rows that changed to every
subscriber. A client first gets a snapshot of every job (one compact row each), then the changes, in order,
on one stream. Subscribers cost a queue each, not a thread; a client too slow to take its changes is cut off
(it reconnects and gets a new snapshot), and the number of streams at once is bounded (more: 503).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..models import FINAL_STATES, SCHEMA_VERSION, JobInfo
from ..service import Service
from ..store import ARCHIVE_DIR, LIVE_FILE, Store, read_json_file
from ..store.arrays import ARRAYS_DIR
from .routes import Busy, Operation

#: What a row holds, in order (times in seconds since the epoch; the dashboard reads rows by these names).
COLUMNS = ("id", "name", "session", "backend", "state", "exit_code", "submitted", "started", "ended",
           "machine", "annotation")
Row = list[Any]
Call = Callable[[Callable[[Service], Any]], Awaitable[tuple[Any, list[str]]]]

#: How often the files are stat'ed; how often active jobs' backends are asked when no file changed.
LOOK = 0.5
ASK = 3.0
#: Messages queued for one subscriber before it counts as too slow; a comment line keeps idle streams alive.
QUEUE = 256
KEEP_ALIVE = 15.0


def _time(x: Any) -> float | None:
    return round(x, 3) if isinstance(x, int | float) else None


def row(job: JobInfo) -> Row:
    return [job.id, job.template.job_name, job.session, job.backend, job.state.value,
            job.exit_code() if job.state.final else None, _time(job.submission_time), _time(job.dispatch_time),
            _time(job.finish_time), job.machine, job.annotation]


def archived_row(record: dict[str, Any]) -> Row:
    """``row`` of an archived (so finished) record as the store keeps it, without making a JobInfo of it: an
    archive of 10,000 jobs is read in a third of the time."""
    template = record.get("template")
    name = template.get("job_name") if isinstance(template, dict) else None
    code = 128 + record["signal"] if isinstance(record.get("signal"), int) else record.get("exit_status")
    return [record["id"], name, record.get("session"), record.get("backend"), record.get("state"),
            code if record.get("state") in FINAL_STATES else None, _time(record.get("submission_time")),
            _time(record.get("dispatch_time")), _time(record.get("finish_time")), record.get("machine"),
            record.get("annotation")]


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


Cache = dict[int, tuple[tuple[int, int, int] | None, dict[str, Row]]]


def _rows_of(cache: Cache, paths: dict[int, Path]) -> dict[str, Row]:
    """The rows of the ended records in ``paths`` (archive shards, or ended arrays' files) by number, each file
    read again only when it changed; ``cache`` keeps them and forgets the files no longer named."""
    found: dict[str, Row] = {}
    for key in list(cache):
        if key not in paths:
            del cache[key]
    for key, path in paths.items():
        stamp = _stamp(path)
        kept = cache.get(key)
        if kept is None or kept[0] != stamp or stamp is None:
            data = read_json_file(path) or {}
            kept = cache[key] = (stamp, {r["id"]: archived_row(r) for r in data.get("jobs", {}).values()})
        found.update(kept[1])
    return found


class Rows:
    """Every job of a home as rows, read again cheaply: archive shards and ended arrays' files only when their
    file changed."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._shards: Cache = {}
        self._arrays: Cache = {}  # an array with no task left to end keeps its file in arrays/, not in a shard

    def stamp(self) -> tuple[Any, ...]:
        """What changes when a job changes (cheap: four stats; every store file is replaced by a rename, which
        changes its directory)."""
        return (_stamp(self.home / LIVE_FILE), _stamp(self.home / ARCHIVE_DIR), _stamp(self.home / ARRAYS_DIR),
                _stamp(self.home / "run"))

    def read(self, svc: Service) -> dict[str, Row]:
        store = Store(self.home)
        snap = store.snapshot()
        live = svc.refresh([JobInfo.from_record(r) for r in snap.live_records()])
        found = _rows_of(self._shards, {key: store.shard_path(key) for key in snap.shard_numbers()})
        found.update(_rows_of(self._arrays, {n: store.array_path(n) for n in snap.archived_arrays()}))
        found.update((j.id, row(j)) for j in live)  # a job being archived is in both: the live one wins
        return found


def _order(job_id: str) -> tuple[int, int]:
    number, _, task = job_id.partition(".")
    return (int(number) if number.isdigit() else 0, int(task) if task.isdigit() else -1)


def message(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Broker:
    """The one task that watches the home, and the subscribers it pushes changes to."""

    def __init__(self, call: Call, home: Path, streams: int) -> None:
        self.call, self.rows_of = call, Rows(home)
        self.rows: dict[str, Row] | None = None
        self.subscribers: set[MemoryObjectSendStream[bytes]] = set()
        self.streams = anyio.CapacityLimiter(streams)
        self._wake = anyio.Event()
        self._read = anyio.Event()  # set (and replaced) after each read of the store
        self._stale = True  # read once at start, so that the first dashboard opened need not wait for it
        self._snapshot: bytes | None = None

    def snapshot(self) -> bytes:
        """Every row, newest first; made once per change, not once per client (10,000 rows are 1 MB)."""
        if self._snapshot is None:
            rows = sorted((self.rows or {}).values(), key=lambda r: _order(r[0]), reverse=True)
            self._snapshot = message("snapshot", {"schema_version": SCHEMA_VERSION, "columns": COLUMNS,
                                                  "rows": rows})
        return self._snapshot

    async def subscribe(self) -> AsyncIterator[bytes]:
        """The snapshot, then every change until the client leaves (or falls too far behind)."""
        send, receive = anyio.create_memory_object_stream[bytes](QUEUE)
        if not self.subscribers:  # nobody watched meanwhile: the rows may be old; wait for a fresh read
            read = self._read
            self._stale = True
            self._wake.set()
            await read.wait()
        # No await between the snapshot and joining: no change falls between them.
        first = self.snapshot()
        self.subscribers.add(send)
        self._wake.set()
        try:
            yield first
            async with receive:
                while True:
                    chunk = b": keep-alive\n\n"
                    with anyio.move_on_after(KEEP_ALIVE):  # never yield inside a cancel scope
                        chunk = await receive.receive()
                    yield chunk
        except anyio.EndOfStream:
            return  # cut off as too slow: the client reconnects
        finally:
            self.subscribers.discard(send)
            send.close()

    def _publish(self, rows: dict[str, Row]) -> None:
        old = self.rows or {}
        changed = [r for k, r in rows.items() if old.get(k) != r]
        removed = [k for k in old if k not in rows]
        self.rows = rows
        if not changed and not removed:
            return
        self._snapshot = None
        changed.sort(key=lambda r: _order(r[0]))
        data = message("change", {"rows": changed, "removed": removed})
        for send in list(self.subscribers):
            try:
                send.send_nowait(data)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self.subscribers.discard(send)
                send.close()  # its stream ends; the dashboard reconnects for a new snapshot

    async def run(self) -> None:
        """The broker's loop (one task of the server's task group, for its whole life)."""
        seen: tuple[Any, ...] | None = None
        asked = 0.0
        while True:
            if not self.subscribers and not self._stale:
                self._wake = anyio.Event()
                await self._wake.wait()
                continue
            stamp = self.rows_of.stamp()
            active = any(r[4] not in FINAL_STATES for r in (self.rows or {}).values())
            if self._stale or stamp != seen or (active and time.monotonic() - asked > ASK):
                self._stale = False
                try:
                    rows, _ = await self.call(self.rows_of.read)
                except Exception:  # a view of the jobs must never take the server down
                    rows = self.rows or {}  # a damaged or vanishing file: the next change tries again
                asked, seen = time.monotonic(), stamp
                self._publish(rows)
                self._read.set()
                self._read = anyio.Event()
            self._wake = anyio.Event()
            with anyio.move_on_after(LOOK):
                await self._wake.wait()



def broker_of(request: Request) -> Broker:
    found: Broker = request.app.state.drmaa2_events
    return found


async def events(request: Request) -> Response:
    broker = broker_of(request)
    if broker.streams.available_tokens < 1:
        raise Busy

    async def stream() -> AsyncIterator[bytes]:
        async with broker.streams:
            async for chunk in broker.subscribe():
                yield chunk

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def whoami(request: Request) -> Response:
    state = request.app.state.drmaa2
    _, _, token = request.headers.get("authorization", "").partition(" ")
    grant = state.keyring.check(token.strip())
    return JSONResponse({"schema_version": SCHEMA_VERSION, "token": request.scope.get("drmaa2.token"),
                         "read_only": True if grant is None else grant.read_only})


OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/v1/events", events, "Every job as a row, then each change as it happens "
              "(server-sent events: `snapshot`, then `change`)", answer="text/event-stream"),
    Operation("GET", "/v1/whoami", whoami, "The token's id and whether it may only read",
              result="Whoami"),
)

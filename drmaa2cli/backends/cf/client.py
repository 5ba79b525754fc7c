"""A thin Cloud Foundry v3 client on httpx: the dozen endpoints the cf backend needs, nothing more.

Two layers: ``Http`` sends one request with the retry policy (idempotent requests are retried with backoff on
network errors and 5xx; 429 is waited out per Retry-After; a request that may have reached the server is never
sent again unless it is idempotent) and turns failures into ``ApiError``/``Unreachable``; ``CFClient`` adds
the bearer token (renewed once on a 401) and the Cloud Controller and log-cache calls. Only the cf backend
imports this module, so httpx is loaded only when that backend is used.
"""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ...errors import BackendUnavailable, DeniedByDrms, Drmaa2Error, InvalidArgument

GUID_BATCH = 50  # guids per GET /v3/tasks: keeps the URL far below common 8 KiB limits
MAX_RETRY_AFTER = 30.0
LOG_PAGE = 1000  # log-cache's largest page
_EXIT_LINE = re.compile(rb"Exit status (-?\d+)( \(.*\))?")


class ApiError(Exception):
    """A non-2xx answer, after the retries the policy allows. Internal: callers convert it with
    ``to_drmaa2`` or their own rule (a 422 on cancel means the task already ended)."""

    def __init__(self, status: int, summary: str, request_id: str | None, codes: Sequence[str] = ()) -> None:
        super().__init__(summary)
        self.status, self.summary, self.request_id, self.codes = status, summary, request_id, tuple(codes)

    @classmethod
    def from_response(cls, resp: httpx.Response) -> ApiError:
        rid = resp.headers.get("X-Vcap-Request-Id")
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        parts: list[str] = []
        codes: list[str] = []
        if isinstance(doc, dict) and isinstance(doc.get("errors"), list):
            for err in doc["errors"]:
                if isinstance(err, dict):
                    codes.append(str(err.get("title", "")))
                    parts.append(f"{err.get('title', 'CF-Error')}: {err.get('detail', '')}".strip())
        elif isinstance(doc, dict) and ("error" in doc or "message" in doc):
            # UAA and log-cache answer {"error": ..., "error_description"/"message": ...}
            parts.append(": ".join(str(doc[k]) for k in ("error", "error_description", "message") if doc.get(k)))
        summary = "; ".join(parts) or f"HTTP {resp.status_code} {resp.reason_phrase}".strip()
        summary = " ".join(summary.split())  # one line, whatever the server put in the detail
        if rid:
            summary += f" (X-Vcap-Request-Id: {rid})"
        return cls(resp.status_code, summary, rid, codes)

    def to_drmaa2(self, context: str) -> Drmaa2Error:
        """The drmaa2 error for this answer when the caller has no more specific rule."""
        message = f"{context}: {self.summary}"
        if self.status in (401, 403):
            return DeniedByDrms(message)
        if self.status == 429 or self.status >= 500:
            return BackendUnavailable(message)
        return InvalidArgument(message)


class Unreachable(Exception):
    """No answer at all (refused, reset, timed out). ``maybe_processed``: the request may have reached the
    server, so a create may have happened although we never saw the answer."""

    def __init__(self, message: str, maybe_processed: bool) -> None:
        super().__init__(message)
        self.maybe_processed = maybe_processed

    def to_drmaa2(self, context: str) -> Drmaa2Error:
        return BackendUnavailable(f"{context}: {self}")


def describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text


class Http:
    """One connection pool and the retry policy. ``sleep`` is injectable for callers that want to
    observe waits; ``retries`` counts resends after the first attempt."""

    def __init__(
        self,
        *,
        verify: bool = True,
        timeout: float = 30.0,
        retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Accept": "application/json", "User-Agent": "drmaa2-cf"},
        )
        self.retries = retries
        self.sleep = sleep

    def close(self) -> None:
        self.client.close()

    def backoff(self, attempt: int) -> float:
        delay: float = min(5.0, 0.2 * 2.0**attempt)
        return delay * random.uniform(0.75, 1.0)

    def request(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        """Send until a 2xx answer; raises ApiError (HTTP error) or Unreachable (no answer)."""
        attempt = 0
        while True:
            try:
                resp = self.client.request(method, url, **kwargs)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise Unreachable(f"invalid URL {url!r}: {e}", maybe_processed=False) from e
            except httpx.TransportError as e:
                # A connect failure means nothing was sent: even a create may go again.
                sent = not isinstance(e, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
                if attempt < self.retries and (idempotent or not sent):
                    self.sleep(self.backoff(attempt))
                    attempt += 1
                    continue
                raise Unreachable(f"no answer from {origin(url)}: {describe(e)}", maybe_processed=sent) from e
            if resp.is_success:
                return resp
            if attempt < self.retries:
                # 429 means the request was refused unprocessed, so even a create is safe to resend.
                if resp.status_code == 429:
                    self.sleep(retry_after(resp.headers.get("Retry-After")) or self.backoff(attempt))
                    attempt += 1
                    continue
                if resp.status_code >= 500 and idempotent:
                    self.sleep(self.backoff(attempt))
                    attempt += 1
                    continue
            raise ApiError.from_response(resp)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds; an HTTP date counts as "soon"), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return 1.0
    return max(0.0, min(MAX_RETRY_AFTER, seconds))


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


class TokenSource(Protocol):
    """What ``CFClient`` needs from a login (``auth.Credentials``)."""

    def header(self, http: Http) -> str:
        """An Authorization header value valid for at least a minute; raises DeniedByDrms."""

    def renew(self, http: Http, rejected: str) -> str:
        """A new header after ``rejected`` was refused with a 401; raises DeniedByDrms."""


@dataclass
class CFClient:
    """Cloud Controller v3 and log-cache calls with the login's token. Methods raise ApiError or
    Unreachable (converted by the backend), and DeniedByDrms when a renewed token is refused too."""

    http: Http
    api: str
    tokens: TokenSource
    log_cache: str | None = None

    def call(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        if url.startswith("/"):
            url = self.api.rstrip("/") + url
        elif origin(url) != origin(self.api) and (self.log_cache is None or origin(url) != origin(self.log_cache)):
            # Pagination links are absolute; never send the token to a host we were not told about.
            raise Unreachable(f"refusing to follow a link to {origin(url)} (API is {origin(self.api)})", False)
        header = self.tokens.header(self.http)
        try:
            resp = self.http.request(
                method, url, idempotent=idempotent, headers={"Authorization": header}, **kwargs
            )
        except ApiError as e:
            if e.status != 401:
                raise
            # A 401 means nothing was done: resending once with a fresh token is safe even for a create.
            header = self.tokens.renew(self.http, header)
            try:
                resp = self.http.request(
                    method, url, idempotent=idempotent, headers={"Authorization": header}, **kwargs
                )
            except ApiError as again:
                if again.status == 401:
                    raise DeniedByDrms(
                        f"Cloud Foundry refused the login even after a token refresh ({again.summary}): "
                        "run `cf login` again"
                    ) from again
                raise
        return resp.json() if resp.content else {}

    def root(self) -> dict[str, Any]:
        """GET / (no token needed): the links to UAA, login and log-cache."""
        doc: dict[str, Any] = self.http.request("GET", self.api.rstrip("/") + "/", idempotent=True).json()
        return doc

    def paginate(self, path: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        doc = self.call("GET", path, params=dict(params))
        while True:
            yield from doc.get("resources", [])
            nxt = (doc.get("pagination") or {}).get("next")
            if not nxt or not nxt.get("href"):
                return
            doc = self.call("GET", nxt["href"])

    def find_one(self, path: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        return next(iter(self.paginate(path, params)), None)

    def has_droplet(self, app_guid: str) -> bool:
        try:
            self.call("GET", f"/v3/apps/{app_guid}/droplets/current")
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def create_task(self, app_guid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        task: dict[str, Any] = self.call("POST", f"/v3/apps/{app_guid}/tasks", idempotent=False, json=dict(body))
        return task

    def tasks(self, guids: Sequence[str]) -> list[dict[str, Any]]:
        """The tasks with these guids, one request per GUID_BATCH guids (absent ones are left out)."""
        found: list[dict[str, Any]] = []
        for i in range(0, len(guids), GUID_BATCH):
            chunk = guids[i : i + GUID_BATCH]
            found.extend(self.paginate("/v3/tasks", {"guids": ",".join(chunk), "per_page": str(len(chunk))}))
        return found

    def tasks_labelled(self, app_guid: str, selector: str) -> list[dict[str, Any]]:
        return list(self.paginate(f"/v3/apps/{app_guid}/tasks", {"label_selector": selector}))

    def cancel(self, guid: str) -> dict[str, Any]:
        # Cancelling twice is harmless (a CANCELING task accepts it), so the cancel may be resent.
        task: dict[str, Any] = self.call("POST", f"/v3/tasks/{guid}/actions/cancel", idempotent=True)
        return task

    def read_logs(self, source_id: str, start_ns: int, limit: int = LOG_PAGE) -> tuple[list[dict[str, Any]], int]:
        """One page of log envelopes from ``start_ns`` on, oldest first, and the page size used: ``limit``
        is halved on a 429 as the cf CLI does (after the retries that already waited out Retry-After)."""
        if not self.log_cache:
            raise Unreachable("this Cloud Foundry has no log-cache, which holds task output", False)
        url = f"{self.log_cache.rstrip('/')}/api/v1/read/{source_id}"
        while True:
            params = {
                "start_time": str(start_ns),
                "envelope_types": "LOG",
                "limit": str(limit),
                "descending": "false",
            }
            try:
                doc = self.call("GET", url, params=params)
            except ApiError as e:
                if e.status == 429 and limit > 1:
                    limit //= 2
                    continue
                raise
            batch = (doc.get("envelopes") or {}).get("batch") or []
            return [e for e in batch if isinstance(e, dict)], limit

    def task_log(
        self, app_guid: str, source: str, begin: float, end: float | None, exit_status: int | None
    ) -> tuple[list[tuple[str, bytes]], bool]:
        """The (``"OUT"``/``"ERR"``, line) pairs of log source type ``source`` from ``begin`` (epoch s) to
        ``end`` or Cloud Foundry's "Exit status N" line, whichever comes first; and whether that line came."""
        cursor = max(0, int(begin * 1e9))
        stop = None if end is None else int(end * 1e9)
        lines: list[tuple[str, bytes]] = []
        while True:
            batch, limit = self.read_logs(app_guid, cursor)
            for env in batch:
                decoded = decode_envelope(env)
                if decoded is None:
                    continue
                ts, src, kind, payload = decoded
                cursor = max(cursor, ts + 1)
                if src != source:
                    continue
                if stop is not None and ts >= stop:
                    return lines, False
                if kind == "OUT" and is_exit_line(payload, exit_status):
                    return lines, True
                lines.append((kind, payload))
            if len(batch) < limit:
                return lines, False


def decode_envelope(env: Mapping[str, Any]) -> tuple[int, str, str, bytes] | None:
    """(timestamp ns, source type, "OUT"/"ERR", payload) of a log envelope in either protojson shape
    (timestamp as string or number; type as name or number, omitted for OUT); None if not a log line."""
    log = env.get("log")
    if not isinstance(log, dict):
        return None
    try:
        ts = int(env.get("timestamp") or 0)
        payload = base64.b64decode(log.get("payload") or "")
    except (TypeError, ValueError):
        return None
    tags = env.get("tags")
    source = tags.get("source_type") if isinstance(tags, dict) else None
    if source is None:  # older envelopes keep tags as protobuf Values
        old = env.get("deprecated_tags")
        value = old.get("source_type") if isinstance(old, dict) else None
        source = value.get("text") if isinstance(value, dict) else None
    kind = "ERR" if log.get("type") in ("ERR", 1, "1") else "OUT"
    return ts, str(source or ""), kind, payload


def is_exit_line(payload: bytes, exit_status: int | None) -> bool:
    """Whether ``payload`` is the "Exit status N" line Cloud Foundry appends to a task's output (with the
    task's own status when that is known, so that a program printing such a line is less likely mistaken)."""
    m = _EXIT_LINE.fullmatch(payload)
    return m is not None and (exit_status is None or int(m.group(1)) == exit_status)

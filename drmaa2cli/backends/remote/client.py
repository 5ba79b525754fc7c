"""The one HTTP client of a `drmaa2 serve` server (over httpx): every operation of its ``/v1``, errors raised
as the core's own (``convert.error_from_body``), so that a command on a remote job exits as it does locally.

Requests that change nothing are sent again after a transport error; a submit carries an idempotency key, so
sending it again after a lost answer makes one job, not two. Long-polls are cut in turns the server holds.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from ...errors import BackendUnavailable, DeniedByDrms, Drmaa2Error
from .convert import error_from_body

#: How long the server holds one long-poll of ours (it caps it at 60 s itself).
WAIT_TURN = 30.0
#: How long a request is tried again while the server cannot be reached (refused: being restarted) or, for
#: one that is safe to send again, broke off; then the command fails with BackendUnavailable (203).
RETRY_SECONDS = 30.0


def _transport(url: str) -> tuple[str, httpx.HTTPTransport | None]:
    """The base URL and transport of ``url``: ``http(s)://host:port``, or ``unix:/path`` (the server's
    ``--socket``)."""
    if url.startswith("unix:"):
        return "http://drmaa2", httpx.HTTPTransport(uds=url.removeprefix("unix:").removeprefix("//"))
    return url.rstrip("/"), None


class Client:
    """A server at ``url`` with the bearer ``token``."""

    def __init__(self, url: str, token: str, timeout: float = 30.0, retry_seconds: float = RETRY_SECONDS) -> None:
        if not token:
            raise DeniedByDrms(f"no token for the drmaa2 server at {url} (DRMAA2_REMOTE_TOKEN)")
        base, transport = _transport(url)
        self.url, self.retry_seconds = url, retry_seconds
        self.http = httpx.Client(
            base_url=base, transport=transport, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                     "User-Agent": "drmaa2-remote"})

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, json: Any = None, params: Any = None,
                key: str | None = None, read_timeout: float | None = None) -> httpx.Response:
        """One request, sent again after a transport error when that is safe (nothing changes, or a submit
        under its key); raises the core's error the server's answer names."""
        headers = {"Idempotency-Key": key} if key else None
        safe = method == "GET" or key is not None
        extra: dict[str, Any] = {}
        if read_timeout is not None:
            extra["timeout"] = httpx.Timeout(read_timeout, connect=10.0)
        deadline = time.monotonic() + self.retry_seconds
        for attempt in itertools.count():
            pause = min(2.0, 0.1 * 2 ** attempt) * random.uniform(0.75, 1.0)
            again = time.monotonic() + pause < deadline
            try:
                resp = self.http.request(method, path, json=json, params=params, headers=headers, **extra)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise BackendUnavailable(f"invalid drmaa2 server URL {self.url!r}: {e}") from e
            except httpx.TransportError as e:
                sent = not isinstance(e, httpx.ConnectError | httpx.ConnectTimeout)
                if again and (safe or not sent):
                    time.sleep(pause)
                    continue
                raise BackendUnavailable(f"no answer from the drmaa2 server at {self.url}: "
                                         f"{type(e).__name__} {e}".rstrip()) from e
            if resp.status_code == 503 and again and resp.headers.get("Retry-After"):
                time.sleep(max(pause, 1.0))
                continue
            return self._checked(resp)
        raise AssertionError("unreachable")

    def _checked(self, resp: httpx.Response) -> httpx.Response:
        if resp.is_success:
            return resp
        if resp.status_code == 401:
            raise DeniedByDrms(f"the drmaa2 server at {self.url} refused the token")
        if resp.status_code == 403:
            raise DeniedByDrms(f"the drmaa2 server at {self.url}: this token may only read")
        try:
            body = resp.json()
        except ValueError:
            body = None
        raise error_from_body(body, resp.status_code)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    # --- jobs ---------------------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """Submit (a template, an array, a script's text); one job however often it is sent under ``key``
        (default: a new one)."""
        found: dict[str, Any] = self.request("POST", "/v1/jobs", json=body, key=key or str(uuid.uuid4())).json()
        return found

    def check(self, template: dict[str, Any]) -> None:
        """Whether the server would take ``template``: raises what its submit would, records nothing."""
        self.request("POST", "/v1/jobs/check", json={"template": template})

    def wait(self, job_id: str, timeout: float) -> dict[str, Any]:
        """The job once it ended, or as it is after ``timeout`` seconds (at most one turn)."""
        turn = max(0.0, min(timeout, WAIT_TURN))
        found: dict[str, Any] = self.request("GET", f"/v1/jobs/{job_id}/wait", params={"timeout": f"{turn:.3f}"},
                                             read_timeout=turn + 30.0).json()
        return found

    def control(self, job_id: str, action: str, signal: int | None = None) -> dict[str, Any]:
        found: dict[str, Any] = self.request("POST", f"/v1/jobs/{job_id}/{action}",
                                             json={} if signal is None else {"signal": signal}).json()
        return found

    def alter(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = self.request("PATCH", f"/v1/jobs/{job_id}", json=changes).json()
        return found

    def remove(self, job_id: str, force: bool) -> int:
        found: int = self.request("DELETE", f"/v1/jobs/{job_id}",
                                  params={"force": "true"} if force else None).json()["removed"]
        return found

    def output(self, job_id: str, stream: str, offset: int = 0) -> tuple[bytes, str]:
        """The job's output from ``offset`` on, and the job's state when it was read."""
        resp = self.request("GET", f"/v1/jobs/{job_id}/logs", params={"stream": stream, "offset": offset})
        return resp.content, resp.headers.get("X-Drmaa2-Job-State", "")

    def follow(self, job_id: str, stream: str, offset: int = 0) -> Iterator[bytes]:
        """The job's output as it grows, until the job has ended."""
        params: dict[str, str | int] = {"stream": stream, "offset": offset, "follow": "true"}
        try:
            with self.http.stream("GET", f"/v1/jobs/{job_id}/logs", params=params,
                                  timeout=httpx.Timeout(None, connect=10.0)) as resp:
                if not resp.is_success:
                    resp.read()
                    self._checked(resp)
                yield from resp.iter_raw()
        except httpx.TransportError as e:
            raise BackendUnavailable(f"the drmaa2 server at {self.url} broke off the stream: {e}") from e

    # --- sessions and the platform ------------------------------------------------------------------------
    def create_session(self, name: str, exist_ok: bool) -> bool:
        found: bool = self.request("POST", "/v1/sessions", json={"name": name, "exist_ok": exist_ok}).json()[
            "created"]
        return found

    def destroy_session(self, name: str, force: bool) -> int:
        found: int = self.request("DELETE", f"/v1/sessions/{name}",
                                  params={"force": "true"} if force else None).json()["removed"]
        return found


def closing(client: Client) -> Client:
    """``client``, closed at the interpreter's exit (a command makes one and keeps it for its whole run)."""
    import atexit

    atexit.register(client.close)
    return client


__all__ = ["Client", "Drmaa2Error", "closing"]

"""A thin client of the Kubernetes API on httpx: the handful of calls the kubernetes backend makes.

Failures become drmaa2 errors here, in one place: no answer (refused, reset, timed out) and 5xx/429 are
``BackendUnavailable`` (transient: ``wait`` rides them out), 401/403 ``DeniedByDrms``, 404 ``Missing``, 409
``Conflict``, any other 4xx ``InvalidArgument`` with the server's own message. Messages name the server, never
the credentials. Only this backend imports the module, so httpx is loaded only when it is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx

from ...errors import BackendUnavailable, DeniedByDrms, Drmaa2Error, InvalidArgument
from .config import Cluster

#: Seconds to connect and to wait for an answer of a plain request.
CONNECT_SECONDS = 5.0
REQUEST_SECONDS = 30.0
JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
PODS = "/api/v1/namespaces/{ns}/pods"


class Missing(InvalidArgument):
    """404: the object (or its namespace) does not exist."""


class Conflict(InvalidArgument):
    """409: the object exists already, or changed meanwhile."""


class Api:
    """The API server of one ``Cluster``, over one keep-alive connection."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        headers = {"Accept": "application/json", "User-Agent": "drmaa2"}
        if cluster.token:
            headers["Authorization"] = f"Bearer {cluster.token}"
        self._http = httpx.Client(base_url=cluster.server, verify=cluster.tls, headers=headers,
                                  timeout=httpx.Timeout(REQUEST_SECONDS, connect=CONNECT_SECONDS))

    def close(self) -> None:
        self._http.close()

    # --- plain requests ---------------------------------------------------------------------------
    def call(self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: object = None,
             content_type: str = "application/json") -> dict[str, Any]:
        """One request; the decoded JSON answer. Raises the errors of the module docstring."""
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else None
        try:
            resp = self._http.request(method, path, params=params, content=content, headers=headers)
        except httpx.TransportError as e:
            raise self.unreachable(e) from None
        self.check(resp, method, path)
        answer: dict[str, Any] = resp.json() if resp.content else {}
        return answer

    def unreachable(self, e: Exception) -> BackendUnavailable:
        return BackendUnavailable(f"the Kubernetes API server {self.cluster.server} cannot be reached "
                                  f"({type(e).__name__}{': ' + str(e) if str(e) else ''})")

    def check(self, resp: httpx.Response, method: str, path: str) -> None:
        """Raise the drmaa2 error for a non-2xx answer (read it first when streamed)."""
        if resp.status_code < 300:
            return
        try:
            doc = json.loads(resp.read())
            message = str(doc.get("message") or "") if isinstance(doc, dict) else ""
        except (ValueError, httpx.HTTPError):
            message = ""
        message = " ".join((message or f"HTTP {resp.status_code} {resp.reason_phrase}").split())
        text = f"Kubernetes API: {message}"
        code = resp.status_code
        error: Drmaa2Error
        if code in (401, 403):
            error = DeniedByDrms(text)
        elif code == 404:
            error = Missing(text)
        elif code == 409:
            error = Conflict(text)
        elif code == 429 or code >= 500:
            error = BackendUnavailable(text)
        else:
            error = InvalidArgument(text)
        raise error

    # --- the objects drmaa2 uses ------------------------------------------------------------------
    def namespace(self, name: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/namespaces/{quote(name, safe='')}")

    def create_job(self, namespace: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("POST", JOBS.format(ns=namespace), body=manifest)

    def delete_job(self, namespace: str, name: str, *, propagation: str = "Background",
                   grace: int | None = None) -> None:
        """Delete the Job and, by ``propagation`` ("Background" or "Foreground"), its pods."""
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        self.call("DELETE", f"{JOBS.format(ns=namespace)}/{name}", body=options)

    def jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.call("GET", JOBS.format(ns=namespace),
                                                params={"labelSelector": selector})["items"]
        return items

    def pods(self, namespace: str, selector: str) -> tuple[list[dict[str, Any]], str]:
        """The pods that ``selector`` picks, and the list's resourceVersion (for ``watch_pods``)."""
        doc = self.call("GET", PODS.format(ns=namespace), params={"labelSelector": selector})
        return doc["items"], str(doc["metadata"].get("resourceVersion") or "")

    def delete_pod(self, namespace: str, name: str, *, grace: int) -> None:
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": grace}
        self.call("DELETE", f"{PODS.format(ns=namespace)}/{name}", body=options)

    def job(self, namespace: str, name: str) -> dict[str, Any]:
        return self.call("GET", f"{JOBS.format(ns=namespace)}/{name}")

    def drop_finalizers(self, namespace: str, pod: str) -> None:
        """Let the pod go (it may be being deleted, and waits for its finalizers)."""
        self.call("PATCH", f"{PODS.format(ns=namespace)}/{pod}", body={"metadata": {"finalizers": None}},
                  content_type="application/merge-patch+json")

    @contextmanager
    def log(self, namespace: str, pod: str, container: str, follow: bool = False) -> Iterator[Iterator[bytes]]:
        """The container's log, streamed as the bytes the kubelet keeps (stdout and stderr interleaved); with
        ``follow``, until the container ends."""
        params = {"container": container, **({"follow": "true"} if follow else {})}
        try:
            with self._http.stream("GET", f"{PODS.format(ns=namespace)}/{pod}/log", params=params) as resp:
                self.check(resp, "GET", "log")
                yield resp.iter_bytes()
        except httpx.TransportError as e:
            raise self.unreachable(e) from None

    def watch_pods(self, namespace: str, selector: str, version: str, seconds: float) -> Iterator[dict[str, Any]]:
        """Events ({"type", "object"}) of the pods ``selector`` picks, after ``version``, for about ``seconds``.
        Ends early when the server closes the stream (it may restart: the caller looks again)."""
        params = {"labelSelector": selector, "watch": "1", "resourceVersion": version,
                  "allowWatchBookmarks": "true", "timeoutSeconds": str(max(1, int(seconds)))}
        timeout = httpx.Timeout(seconds + 10, connect=CONNECT_SECONDS)
        try:
            with self._http.stream("GET", PODS.format(ns=namespace), params=params, timeout=timeout) as resp:
                self.check(resp, "GET", "watch")
                for line in resp.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError as e:
            if isinstance(e, httpx.ConnectError | httpx.ConnectTimeout):
                raise self.unreachable(e) from None
            return  # the stream broke off (a server going away): the caller refreshes and asks again


#: What the kubelet appends to a log stream that breaks off (a followed container removed under it), with no
#: newline: ``rpc error: code = NotFound desc = an error occurred when try to find container "…": not found``.
_STREAM_ERROR = re.compile(rb"rpc error: code = [A-Za-z]+ desc = [^\n]*\Z")
#: How much of a log's end is held back until the stream ends, to look for that text (it is ~150 bytes).
_TAIL = 4096


def job_output(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A container's log as the job wrote it: ``chunks`` without the error text a broken-off stream ends with
    (a 1.20 kubelet writes it into the body of an answer already under way)."""
    held = b""
    for chunk in chunks:
        held += chunk
        if len(held) > 2 * _TAIL:
            yield held[:-_TAIL]
            held = held[-_TAIL:]
    start = held.rfind(b"rpc error: code = ")
    if start >= 0 and _STREAM_ERROR.match(held, start):
        held = held[:start]
    if held:
        yield held


def nodes(api: Api) -> list[dict[str, Any]]:
    """The cluster's nodes (name, Ready, capacity), for a monitoring session's machine list."""
    found = []
    for node in api.call("GET", "/api/v1/nodes")["items"]:
        conditions = {c.get("type"): c.get("status") for c in node.get("status", {}).get("conditions") or []}
        found.append({"name": node["metadata"]["name"], "ready": conditions.get("Ready") == "True",
                      "capacity": dict(node.get("status", {}).get("capacity") or {}),
                      "info": dict(node.get("status", {}).get("nodeInfo") or {})})
    return found


def all_jobs(api: Api) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every batch/v1 Job of the cluster and every pod a Job made (the ``job-name`` label the Job controller
    puts on its pods), for a monitoring session's job list: two list calls, whatever the number of jobs."""
    jobs: list[dict[str, Any]] = api.call("GET", "/apis/batch/v1/jobs")["items"]
    pods: list[dict[str, Any]] = api.call("GET", "/api/v1/pods", params={"labelSelector": "job-name"})["items"]
    return jobs, pods


def namespaces(api: Api) -> list[str]:
    """The cluster's namespaces: the queues a job can be submitted to (``--queue``)."""
    return [ns["metadata"]["name"] for ns in api.call("GET", "/api/v1/namespaces")["items"]]

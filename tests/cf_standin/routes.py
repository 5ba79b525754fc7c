"""Request routing for the stand-in: one function per endpoint, each returning (status, headers, body).

Query parameters are checked the way the Cloud Controller checks them (an unknown one is a 400
CF-BadQueryParameter); lists are paginated with absolute links.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .world import ApiProblem, Task, not_found, timestamp

if TYPE_CHECKING:
    from .server import StandIn

Reply = tuple[int, dict[str, str], bytes]
PAGING = ("page", "per_page", "order_by")
TASK_FILTERS = ("guids", "names", "states", "sequence_ids", "label_selector", *PAGING)


def dispatch(standin: StandIn, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
    """Route one request; raises ApiProblem for Cloud Controller errors."""
    split = urlsplit(raw_path)
    path = split.path.rstrip("/") or "/"
    query = parse_qs(split.query, keep_blank_values=True)
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    w = standin.world
    if path == "/" and method == "GET":
        return _json(200, root(standin.url))
    if path in ("/login/oauth/token", "/uaa/oauth/token") and method == "POST":
        return token(standin, headers, body)
    if path.startswith("/log-cache/api/v1/read/") and method == "GET":
        try:
            w.check_token(auth)
        except ApiProblem:
            return _json(401, {"error": "unauthorized", "message": "invalid token"})
        return log_read(standin, path.rsplit("/", 1)[1], query)
    if path == "/_standin/requests":
        return _json(200, {"requests": standin.requests_json()})
    if path == "/_standin/faults" and method == "POST":
        doc = json.loads(body)
        standin.add_fault(doc.pop("method"), doc.pop("path"), doc.pop("kind"), **doc)
        return _json(201, {})
    if not path.startswith("/v3/"):
        raise not_found("Route")
    w.check_token(auth)
    for pattern, verb, handler in ROUTES:
        m = re.fullmatch(pattern, path)
        if m and verb == method:
            return handler(standin, query, body, *m.groups())
    raise not_found("Route")


def root(url: str) -> dict[str, Any]:
    return {
        "links": {
            "self": {"href": url},
            "cloud_controller_v2": None,
            "cloud_controller_v3": {"href": f"{url}/v3", "meta": {"version": "3.150.0"}},
            "network_policy_v0": None,
            "network_policy_v1": None,
            "login": {"href": f"{url}/login"},
            "uaa": {"href": f"{url}/uaa"},
            "credhub": None,
            "routing": None,
            "logging": None,
            "log_cache": {"href": f"{url}/log-cache"},
            "log_stream": None,
            "app_ssh": None,
        }
    }


def token(standin: StandIn, headers: dict[str, str], body: bytes) -> Reply:
    from .server import basic_auth

    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    w = standin.world
    bad = _json(401, {"error": "unauthorized", "error_description": "Bad credentials"})
    grant = form.get("grant_type")
    if grant == "client_credentials":
        client = form.get("client_id"), form.get("client_secret")
        if client[0] is None:
            client = basic_auth(headers) or (None, None)
        if client[0] not in w.clients or w.clients[client[0]] != client[1] or client[0] == "cf":
            return bad
        return _json(200, w.issue({"client_id": client[0]}, with_refresh=False))
    client = basic_auth(headers)
    if client is None or w.clients.get(client[0]) != client[1]:
        return bad
    if grant == "password":
        if w.users.get(form.get("username", "")) != form.get("password"):
            return bad
        return _json(200, w.issue({"user_name": form["username"], "client_id": client[0]}))
    if grant == "refresh_token":
        subject = w.refresh_tokens.get(form.get("refresh_token", ""))
        if subject is None:
            # UAA quotes the refused token in its message: clients must not repeat it.
            detail = f"Invalid refresh token (expired): {form.get('refresh_token', '')}"
            return _json(401, {"error": "invalid_token", "error_description": detail})
        reply = w.issue(subject, with_refresh=False)
        reply["refresh_token"] = form["refresh_token"]
        return _json(200, reply)
    return _json(400, {"error": "unsupported_grant_type", "error_description": f"Unsupported grant type: {grant}"})


# --- Cloud Controller ---------------------------------------------------------------------------------
def _check_query(query: dict[str, list[str]], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise ApiProblem(
            400,
            10005,
            "CF-BadQueryParameter",
            "The query parameter is invalid: Unknown query parameter(s): "
            + ", ".join(f"'{k}'" for k in unknown)
            + ". Valid parameters are: "
            + ", ".join(f"'{k}'" for k in allowed),
        )


def _csv(query: dict[str, list[str]], key: str) -> list[str] | None:
    if key not in query:
        return None
    return [v for value in query[key] for v in value.split(",") if v]


def _paginate(standin: StandIn, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]) -> Reply:
    try:
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["50"])[0])
    except ValueError:
        raise ApiProblem(
            400,
            10005,
            "CF-BadQueryParameter",
            "The query parameter is invalid: Page and per page must be integers",
        ) from None
    if page < 1 or not 1 <= per_page <= 5000:
        raise ApiProblem(
            400,
            10005,
            "CF-BadQueryParameter",
            "The query parameter is invalid: Per page must be between 1 and 5000",
        )
    pages = max(1, -(-len(items) // per_page))

    def link(n: int) -> dict[str, str]:
        params = {k: ",".join(v) for k, v in query.items() if k not in ("page", "per_page")}
        return {"href": f"{standin.url}{path}?{urlencode({**params, 'page': n, 'per_page': per_page})}"}

    doc = {
        "pagination": {
            "total_results": len(items),
            "total_pages": pages,
            "first": link(1),
            "last": link(pages),
            "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if page > 1 else None,
        },
        "resources": items[(page - 1) * per_page : page * per_page],
    }
    return _json(200, doc)


def _named(query: dict[str, list[str]], name: str) -> bool:
    names = _csv(query, "names")
    return names is None or name.lower() in {n.lower() for n in names}


def organizations(standin: StandIn, query: dict[str, list[str]], body: bytes) -> Reply:
    _check_query(query, ("names", "guids", *PAGING))
    items = [{"guid": g, "name": n} for g, n in standin.world.orgs.items() if _named(query, n)]
    return _paginate(standin, "/v3/organizations", query, items)


def spaces(standin: StandIn, query: dict[str, list[str]], body: bytes) -> Reply:
    _check_query(query, ("names", "guids", "organization_guids", *PAGING))
    orgs = _csv(query, "organization_guids")
    items = [
        {"guid": g, "name": n, "relationships": {"organization": {"data": {"guid": o}}}}
        for g, (n, o) in standin.world.spaces.items()
        if _named(query, n) and (orgs is None or o in orgs)
    ]
    return _paginate(standin, "/v3/spaces", query, items)


def _app_doc(standin: StandIn, guid: str) -> dict[str, Any]:
    app = standin.world.apps[guid]
    return {
        "guid": app.guid,
        "name": app.name,
        "state": "STARTED",
        "relationships": {"space": {"data": {"guid": app.space_guid}}},
        "links": {"self": {"href": f"{standin.url}/v3/apps/{app.guid}"}},
    }


def apps(standin: StandIn, query: dict[str, list[str]], body: bytes) -> Reply:
    _check_query(query, ("names", "guids", "space_guids", "organization_guids", "stacks", *PAGING))
    in_spaces = _csv(query, "space_guids")
    items = [
        _app_doc(standin, a.guid)
        for a in standin.world.apps.values()
        if _named(query, a.name) and (in_spaces is None or a.space_guid in in_spaces)
    ]
    return _paginate(standin, "/v3/apps", query, items)


def app(standin: StandIn, query: dict[str, list[str]], body: bytes, guid: str) -> Reply:
    if guid not in standin.world.apps:
        raise not_found("App")
    return _json(200, _app_doc(standin, guid))


def current_droplet(standin: StandIn, query: dict[str, list[str]], body: bytes, guid: str) -> Reply:
    found = standin.world.apps.get(guid)
    if found is None:
        raise not_found("App")
    if found.droplet_guid is None:
        raise not_found("Droplet")
    return _json(
        200,
        {
            "guid": found.droplet_guid,
            "state": "STAGED",
            "links": {"self": {"href": f"{standin.url}/v3/droplets/{found.droplet_guid}"}},
        },
    )


def task_doc(standin: StandIn, task: Task) -> dict[str, Any]:
    url = standin.url
    return {
        "guid": task.guid,
        "sequence_id": task.sequence_id,
        "name": task.name,
        "command": task.command,
        "state": task.state,
        "memory_in_mb": task.memory_in_mb,
        "disk_in_mb": task.disk_in_mb,
        "log_rate_limit_in_bytes_per_second": -1,
        "result": {"failure_reason": task.failure_reason},
        "droplet_guid": task.app.droplet_guid,
        "relationships": {"app": {"data": {"guid": task.app.guid}}},
        "metadata": {"labels": dict(task.labels), "annotations": {}},
        "created_at": timestamp(task.created),
        "updated_at": timestamp(task.updated),
        "links": {
            "self": {"href": f"{url}/v3/tasks/{task.guid}"},
            "app": {"href": f"{url}/v3/apps/{task.app.guid}"},
            "cancel": {"href": f"{url}/v3/tasks/{task.guid}/actions/cancel", "method": "POST"},
            "droplet": {"href": f"{url}/v3/droplets/{task.app.droplet_guid}"},
        },
    }


def create_task(standin: StandIn, query: dict[str, list[str]], body: bytes, guid: str) -> Reply:
    try:
        doc = json.loads(body or b"null")
    except ValueError:
        doc = None
    task = standin.world.create_task(guid, doc)
    with standin.world.lock:
        return _json(202, task_doc(standin, task))


def _selector(expr: str) -> Callable[[dict[str, str]], bool]:
    """A Kubernetes-style label selector: key=v, key==v, key!=v, key in (a,b), key notin (a,b), key, !key."""
    tests: list[Callable[[dict[str, str]], bool]] = []
    for part in re.findall(r"(?:[^,(]|\([^)]*\))+", expr):
        part = part.strip()
        if m := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)", part):
            k, op, v = m.groups()
            tests.append(
                (lambda lb, k=k, v=v: lb.get(k) == v) if op != "!=" else (lambda lb, k=k, v=v: lb.get(k) != v)
            )
        elif m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", part):
            k, op, vs = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            tests.append(
                (lambda lb, k=k, vs=vs: lb.get(k) in vs)
                if op == "in"
                else (lambda lb, k=k, vs=vs: lb.get(k) not in vs)
            )
        elif m := re.fullmatch(r"(!?)([\w./-]+)", part):
            neg, k = m.groups()
            tests.append(lambda lb, k=k, neg=neg: (k in lb) != bool(neg))
        else:
            raise ApiProblem(
                400,
                10005,
                "CF-BadQueryParameter",
                f"The query parameter is invalid: Invalid label_selector value: '{expr}'",
            )
    return lambda labels: all(t(labels) for t in tests)


def _task_list(standin: StandIn, path: str, query: dict[str, list[str]], app_guid: str | None) -> Reply:
    w = standin.world
    with w.lock:
        tasks = [t for t in w.tasks.values() if app_guid is None or t.app.guid == app_guid]
        filters: list[Callable[[Task], bool]] = []
        for key, attr in (("guids", "guid"), ("names", "name"), ("states", "state"), ("app_guids", None)):
            values = _csv(query, key)
            if values is not None:
                if attr is None:
                    filters.append(lambda t, vs=values: t.app.guid in vs)
                else:
                    filters.append(lambda t, vs=values, a=attr: getattr(t, a) in vs)
        if (seq := _csv(query, "sequence_ids")) is not None:
            filters.append(lambda t: str(t.sequence_id) in seq)
        if (spaces := _csv(query, "space_guids")) is not None:
            filters.append(lambda t: t.app.space_guid in spaces)
        if "label_selector" in query:
            match = _selector(query["label_selector"][0])
            filters.append(lambda t: match(t.labels))
        chosen = sorted((t for t in tasks if all(f(t) for f in filters)), key=lambda t: (t.created, t.guid))
        if query.get("order_by", [""])[0].startswith("-"):
            chosen.reverse()
        items = [task_doc(standin, t) for t in chosen]
    return _paginate(standin, path, query, items)


def app_tasks(standin: StandIn, query: dict[str, list[str]], body: bytes, guid: str) -> Reply:
    _check_query(query, TASK_FILTERS)
    if guid not in standin.world.apps:
        raise not_found("App")
    return _task_list(standin, f"/v3/apps/{guid}/tasks", query, guid)


def all_tasks(standin: StandIn, query: dict[str, list[str]], body: bytes) -> Reply:
    _check_query(query, (*TASK_FILTERS, "app_guids", "space_guids", "organization_guids"))
    return _task_list(standin, "/v3/tasks", query, None)


def get_task(standin: StandIn, query: dict[str, list[str]], body: bytes, guid: str) -> Reply:
    with standin.world.lock:
        task = standin.world.tasks.get(guid)
        if task is None:
            raise not_found("Task")
        return _json(200, task_doc(standin, task))


def cancel_task(standin: StandIn, query: dict[str, list[str]], body: bytes, guid: str) -> Reply:
    task = standin.world.cancel_task(guid)
    with standin.world.lock:
        return _json(202, task_doc(standin, task))


ROUTES: list[tuple[str, str, Callable[..., Reply]]] = [
    (r"/v3/organizations", "GET", organizations),
    (r"/v3/spaces", "GET", spaces),
    (r"/v3/apps", "GET", apps),
    (r"/v3/apps/([\w-]+)", "GET", app),
    (r"/v3/apps/([\w-]+)/droplets/current", "GET", current_droplet),
    (r"/v3/apps/([\w-]+)/tasks", "POST", create_task),
    (r"/v3/apps/([\w-]+)/tasks", "GET", app_tasks),
    (r"/v3/tasks", "GET", all_tasks),
    (r"/v3/tasks/([\w-]+)", "GET", get_task),
    (r"/v3/tasks/([\w-]+)/actions/cancel", "POST", cancel_task),
    (r"/v3/tasks/([\w-]+)/cancel", "PUT", cancel_task),  # deprecated, still served
]


# --- log-cache ----------------------------------------------------------------------------------------
def log_read(standin: StandIn, source_id: str, query: dict[str, list[str]]) -> Reply:
    """GET /api/v1/read/<source_id>: envelopes with start_time <= timestamp < end_time, oldest first unless
    descending, at most ``limit`` (<= 1000)."""

    def number(key: str, default: int) -> int:
        try:
            return int(query.get(key, [str(default)])[0])
        except ValueError:
            return -1

    start, end, limit = number("start_time", 0), number("end_time", time.time_ns()), number("limit", 100)
    if start < 0 or end < 0 or not 0 < limit <= 1000:
        return _json(400, {"error": "bad request", "message": "invalid start_time, end_time or limit"})
    types = {t.upper() for v in query.get("envelope_types", []) for t in v.split(",")}
    descending = query.get("descending", ["false"])[0].lower() == "true"
    w = standin.world
    with w.lock:
        now = time.time()
        chosen = [
            e
            for e in w.envelopes
            if e.source_id == source_id
            and start <= e.timestamp < end
            and e.visible_at <= now
            and (not types or "LOG" in types)
        ]
    chosen = (chosen[::-1] if descending else chosen)[:limit]
    numeric = standin.envelope_style == "numeric"
    batch = []
    for e in chosen:
        log: dict[str, Any] = {"payload": base64.b64encode(e.payload).decode()}
        if not numeric:
            log["type"] = e.stream
        elif e.stream == "ERR":
            log["type"] = 1
        batch.append(
            {
                "timestamp": e.timestamp if numeric else str(e.timestamp),
                "source_id": e.source_id,
                "instance_id": "0",
                "tags": {"source_type": e.source_type},
                "log": log,
            }
        )
    return _json(200, {"envelopes": {"batch": batch}})


def _json(status: int, doc: Any) -> Reply:
    return status, {}, json.dumps(doc).encode()

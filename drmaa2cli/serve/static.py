"""The dashboard's files (``serve/dashboard/``, shipped in the package): the page at ``/`` and its script and
style sheet. They hold no data, so they are served without a token (a browser cannot send a header when it
opens a page); everything they show comes from ``/v1`` with the token the user types, which the page keeps in
the tab's session storage and sends in a header. A fixed table of names: no request reaches another file.
The page may load only its own files and talk only to this server (``Content-Security-Policy``), and no other
site may frame it."""

from __future__ import annotations

from importlib import resources

from starlette.types import Receive, Scope, Send

#: URL path -> (file in serve/dashboard/, media type).
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard/views.js": ("views.js", "text/javascript; charset=utf-8"),
    "/dashboard/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "/dashboard/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
     b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]
_cache: dict[str, bytes] = {}


def serves(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"] in FILES


def _read(name: str) -> bytes:
    if name not in _cache:
        _cache[name] = (resources.files(__package__ or "drmaa2cli.serve") / "dashboard" / name).read_bytes()
    return _cache[name]


async def static(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request for one of ``FILES`` (GET or HEAD only)."""
    name, media = FILES[scope["path"]]
    if scope["method"] not in ("GET", "HEAD"):
        status, body, headers = 405, b"", [(b"allow", b"GET, HEAD")]
    else:
        status, body, headers = 200, _read(name), [(b"content-type", media.encode()), *HEADERS]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

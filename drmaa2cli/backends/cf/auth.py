"""Cloud Foundry login: reuse the cf CLI's (``$CF_HOME/.cf/config.json``), or credentials from the
environment for CI (``CF_API`` with ``CF_USERNAME``/``CF_PASSWORD`` or ``CF_CLIENT_ID``/``CF_CLIENT_SECRET``).

Access tokens are renewed against UAA when they expire within a minute, and once when the API refuses one;
a token renewed from the cf CLI's login is written back the way the cf CLI writes its config (mode 0600,
temporary file then atomic rename, other keys untouched). Tokens are never put in messages: ``redact``
removes anything token-like from text that came from a server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import BackendUnavailable, DeniedByDrms, InvalidArgument
from ...files import read_json, write_atomically
from .client import ApiError, Http, Unreachable

ENV_API = "CF_API"
ENV_USERNAME, ENV_PASSWORD = "CF_USERNAME", "CF_PASSWORD"
ENV_CLIENT_ID, ENV_CLIENT_SECRET = "CF_CLIENT_ID", "CF_CLIENT_SECRET"
ENV_ORG, ENV_SPACE = "CF_ORG", "CF_SPACE"
ENV_SKIP_SSL = "CF_SKIP_SSL_VALIDATION"
RENEW_MARGIN = 60.0  # seconds: the cf CLI renews when the token expires within a minute
LOGIN_HINT = "run `cf login` (or set CF_API with CF_USERNAME/CF_PASSWORD or CF_CLIENT_ID/CF_CLIENT_SECRET)"
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")


def redact(text: str, *secrets: str | None) -> str:
    """``text`` without JWTs or any of ``secrets`` (UAA puts the refused refresh token in its messages)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _JWT.sub("***", text)


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, or None when the token is not a readable JWT."""
    try:
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def strip_bearer(value: str) -> str:
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if rest and scheme.lower() == "bearer" else value.strip()


@dataclass(frozen=True)
class Target:
    """Where the API is and what is targeted. ``org``/``space`` are names; ``space_guid`` is known from
    the cf CLI's config, else it is looked up by name."""

    api: str
    token_url: str | None
    log_cache: str | None
    verify: bool
    org: str | None
    space: str | None
    space_guid: str | None
    source: str


class Credentials:
    """The token source for ``CFClient``: holds the access token in memory and renews it.

    ``grant`` is "refresh_token" (a cf CLI user login), "password" or "client_credentials".
    """

    def __init__(
        self,
        token_url: str | None,
        *,
        grant: str,
        access: str | None = None,
        refresh: str | None = None,
        client_id: str = "cf",
        client_secret: str = "",
        username: str | None = None,
        password: str | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.token_url = token_url
        self.grant = grant
        self.access, self.refresh = access, refresh
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password = username, password
        self.config_path = config_path
        self._lock = threading.Lock()

    def secrets(self) -> tuple[str | None, ...]:
        return self.access, self.refresh, self.client_secret, self.password

    def header(self, http: Http) -> str:
        with self._lock:
            if self.access is None or _expires_soon(self.access):
                self._renew(http, rejected=None)
            assert self.access is not None
            return f"bearer {self.access}"

    def renew(self, http: Http, rejected: str) -> str:
        with self._lock:
            if self.access is None or f"bearer {self.access}" == rejected:
                self._renew(http, rejected=strip_bearer(rejected))
            assert self.access is not None
            return f"bearer {self.access}"

    def _renew(self, http: Http, rejected: str | None) -> None:
        if self.config_path is not None and self._adopt_from_config(rejected):
            return
        if self.token_url is None:
            raise BackendUnavailable("the Cloud Foundry login endpoint is unknown: " + LOGIN_HINT)
        if self.grant == "client_credentials":
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
            reply = self._token_request(http, form, basic=False)
        elif self.refresh:
            try:
                reply = self._token_request(
                    http, {"grant_type": "refresh_token", "refresh_token": self.refresh}, basic=True
                )
            except DeniedByDrms:
                if self.grant != "password":
                    raise
                reply = self._password_grant(http)
        elif self.grant == "password":
            reply = self._password_grant(http)
        else:
            raise DeniedByDrms("not logged in to Cloud Foundry (no refresh token): " + LOGIN_HINT)
        self.access = str(reply["access_token"])
        self.refresh = str(reply.get("refresh_token") or self.refresh or "") or None
        if self.config_path is not None:
            self._write_back()

    def _password_grant(self, http: Http) -> dict[str, Any]:
        form = {"grant_type": "password", "username": self.username or "", "password": self.password or ""}
        return self._token_request(http, form, basic=True)

    def _token_request(self, http: Http, form: dict[str, str], basic: bool) -> dict[str, Any]:
        assert self.token_url is not None
        url = self.token_url.rstrip("/") + "/oauth/token"
        auth = (self.client_id, self.client_secret) if basic else None
        try:
            # Token grants have no side effect worth guarding, so they are retried like reads.
            resp = http.request("POST", url, idempotent=True, data=form, auth=auth)
            doc = resp.json()
        except ApiError as e:
            summary = redact(e.summary, *self.secrets())
            if e.status in (400, 401, 403):
                raise DeniedByDrms(f"Cloud Foundry login refused by UAA ({summary}): {LOGIN_HINT}") from None
            raise BackendUnavailable(f"cannot renew the Cloud Foundry login: {summary}") from None
        except Unreachable as e:
            raise BackendUnavailable(f"cannot reach Cloud Foundry UAA: {redact(str(e))}") from None
        except ValueError:
            raise BackendUnavailable(f"UAA at {self.token_url} did not answer with JSON") from None
        if not isinstance(doc, dict) or not doc.get("access_token"):
            raise BackendUnavailable(f"UAA at {self.token_url} answered without an access token")
        return doc

    # --- the cf CLI's config.json ---------------------------------------------------------------------
    def _adopt_from_config(self, rejected: str | None) -> bool:
        """Another cf or drmaa2 process may have renewed the token meanwhile: use theirs if it is fresh."""
        assert self.config_path is not None
        doc = read_json(self.config_path)
        if doc is None:
            return False
        token = strip_bearer(str(doc.get("AccessToken") or ""))
        if token and token != self.access and token != rejected and not _expires_soon(token):
            self.access = token
            self.refresh = str(doc.get("RefreshToken") or "") or self.refresh
            return True
        return False

    def _write_back(self) -> None:
        assert self.config_path is not None and self.access is not None
        path = self.config_path
        doc = read_json(path)
        if doc is None:
            return
        doc["AccessToken"] = f"bearer {self.access}"
        if self.refresh:
            doc["RefreshToken"] = self.refresh
        # Not fatal: the renewed token still serves this process; the next one renews again. The temp file's
        # name is per process, and this process writes under its lock.
        with contextlib.suppress(OSError):
            write_atomically(path, json.dumps(doc, indent=2).encode())


def _expires_soon(token: str) -> bool:
    exp = token_expiry(token)
    return exp is not None and exp - time.time() < RENEW_MARGIN


def _section(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def config_path(environ: Mapping[str, str]) -> Path:
    home = environ.get("CF_HOME") or environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".cf" / "config.json"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def load(environ: Mapping[str, str]) -> tuple[Target, Credentials]:
    """The target and credentials from the environment (when CF_API is set) or the cf CLI's config.
    Reads files only; raises DeniedByDrms when there is no usable login, InvalidArgument for a broken
    config."""
    if environ.get(ENV_API):
        return _from_environment(environ)
    path = config_path(environ)
    if not path.exists():
        raise DeniedByDrms(f"not logged in to Cloud Foundry ({path} does not exist): {LOGIN_HINT}")
    doc = read_json(path)
    if doc is None:
        raise InvalidArgument(f"cannot read the cf CLI config {path}: not a JSON object")
    api = str(doc.get("Target") or "")
    access = strip_bearer(str(doc.get("AccessToken") or "")) or None
    refresh = str(doc.get("RefreshToken") or "") or None
    if not api or not (access or refresh):
        raise DeniedByDrms(f"not logged in to Cloud Foundry (no API target or token in {path}): {LOGIN_HINT}")
    org = _section(doc, "OrganizationFields")
    space = _section(doc, "SpaceFields")
    org_name, space_name = (
        environ.get(ENV_ORG) or org.get("Name"),
        environ.get(ENV_SPACE) or space.get("Name"),
    )
    # A space chosen by CF_ORG/CF_SPACE is looked up by name; the targeted one is known by guid.
    space_guid = None if (environ.get(ENV_ORG) or environ.get(ENV_SPACE)) else (space.get("GUID") or None)
    grant = str(doc.get("UAAGrantType") or "")
    target = Target(
        api=api,
        token_url=str(doc.get("AuthorizationEndpoint") or doc.get("UaaEndpoint") or "") or None,
        log_cache=str(doc.get("LogCacheEndPoint") or "") or None,
        verify=not bool(doc.get("SSLDisabled")),
        org=org_name or None,
        space=space_name or None,
        space_guid=space_guid,
        source=f"the cf CLI login in {path}",
    )
    creds = Credentials(
        target.token_url,
        grant="client_credentials" if grant == "client_credentials" else "refresh_token",
        access=access,
        refresh=refresh,
        client_id=str(doc.get("UAAOAuthClient") or "cf"),
        client_secret=str(doc.get("UAAOAuthClientSecret") or ""),
        config_path=path,
    )
    return target, creds


def _from_environment(environ: Mapping[str, str]) -> tuple[Target, Credentials]:
    api = environ[ENV_API].strip()
    if "://" not in api:
        api = "https://" + api  # as `cf api` does
    target = Target(
        api=api,
        token_url=None,
        log_cache=None,
        verify=not _truthy(environ.get(ENV_SKIP_SSL)),
        org=environ.get(ENV_ORG) or None,
        space=environ.get(ENV_SPACE) or None,
        space_guid=None,
        source=f"{ENV_API}={api}",
    )
    if environ.get(ENV_CLIENT_ID) and environ.get(ENV_CLIENT_SECRET):
        creds = Credentials(
            None,
            grant="client_credentials",
            client_id=environ[ENV_CLIENT_ID],
            client_secret=environ[ENV_CLIENT_SECRET],
        )
    elif environ.get(ENV_USERNAME) and environ.get(ENV_PASSWORD):
        creds = Credentials(None, grant="password", username=environ[ENV_USERNAME], password=environ[ENV_PASSWORD])
    else:
        raise DeniedByDrms(
            f"{ENV_API} is set but no credentials are: set {ENV_USERNAME} and {ENV_PASSWORD}, "
            f"or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
        )
    return target, creds

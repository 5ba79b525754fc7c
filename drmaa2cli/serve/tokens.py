"""The server's bearer tokens: made at random, shown once, kept only as their SHA-256 in a 0600 file of the
drmaa2 home, and checked in constant time. A token is 32 random bytes, so a plain hash suffices (a slow
password hash protects guessable secrets, which these are not)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..files import ensure_private_dir, write_atomically

TOKENS_FILE = "serve-tokens.json"
PREFIX = "drmaa2_"


@dataclass(frozen=True)
class Grant:
    """What a valid token may do."""

    token_id: str
    read_only: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read {path}: {e}") from None
    return [t for t in data.get("tokens", []) if isinstance(t, dict)] if isinstance(data, dict) else []


def create(home: Path, read_only: bool = False, expires_in: float | None = None) -> tuple[str, str]:
    """A new token for the server of ``home``: returns (its id, the token). Only its hash is written."""
    ensure_private_dir(home)
    path = home / TOKENS_FILE
    token = PREFIX + secrets.token_urlsafe(32)
    entries = _read(path)
    token_id = f"t{len(entries) + 1}-{secrets.token_hex(2)}"
    now = time.time()
    entries.append({"id": token_id, "sha256": _digest(token), "read_only": read_only, "created": now,
                    "expires": None if expires_in is None else now + expires_in})
    try:
        write_atomically(path, json.dumps({"tokens": entries}, indent=1).encode())
        os.chmod(path, 0o600)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {e.strerror}") from None
    return token_id, token


class Keyring:
    """The tokens of a home, read again when their file changes (a token created while the server runs
    works at once)."""

    def __init__(self, home: Path) -> None:
        self.path = home / TOKENS_FILE
        self._stamp: tuple[int, int] | None = None
        self._entries: list[dict[str, Any]] = []

    def _load(self) -> list[dict[str, Any]]:
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            return []
        if stamp != self._stamp:
            self._entries, self._stamp = _read(self.path), stamp
        return self._entries

    def check(self, token: str, now: float | None = None) -> Grant | None:
        """The grant of ``token``, or None for an unknown or expired one (the caller must not say which)."""
        digest = _digest(token)
        now = time.time() if now is None else now
        found = None
        for entry in self._load():  # every entry compared, in constant time, whichever matches
            if hmac.compare_digest(digest, str(entry.get("sha256", ""))):
                found = entry
        if found is None:
            return None
        expires = found.get("expires")
        if isinstance(expires, int | float) and expires <= now:
            return None
        return Grant(str(found.get("id")), bool(found.get("read_only")))

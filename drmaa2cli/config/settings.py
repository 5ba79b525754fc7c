"""Where drmaa2 keeps its state, and the settings resolved in one place: flag > environment > config file >
built-in default. No config file is ever required."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, StoreError

ENV_HOME = "DRMAA2_HOME"
ENV_SESSION = "DRMAA2_SESSION"
ENV_BACKEND = "DRMAA2_BACKEND"
CONFIG_FILE = "config.toml"

DEFAULTS: dict[str, str] = {"session": "default", "backend": "process"}
ENV_NAMES: dict[str, str] = {"session": ENV_SESSION, "backend": ENV_BACKEND}


def home_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$DRMAA2_HOME``, else ``$XDG_CONFIG_HOME/drmaa2``, else ``~/.config/drmaa2`` (what Typer's
    ``get_app_dir`` gives on Linux, computed here so the core does not import Typer)."""
    env = os.environ if environ is None else environ
    # Absolute: shepherds and jobs run in other directories, and records keep paths below the home.
    if env.get(ENV_HOME):
        return Path(env[ENV_HOME]).expanduser().absolute()
    base = env.get("XDG_CONFIG_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: a relative path is invalid, ignore it
        base = os.path.join(os.path.expanduser("~"), ".config")
    return Path(base).absolute() / "drmaa2"


@dataclass
class Settings:
    """Effective settings, each with where it came from ("flag", "env DRMAA2_X", "config file", "default")."""

    home: Path
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Local queues: name -> slots (``[queues.NAME] slots = N``), how many of their jobs run at once.
    queues: dict[str, int] = field(default_factory=dict)
    #: Sessions with slots: name -> how many of their jobs run at once (``[sessions.NAME] slots = N``).
    session_slots: dict[str, int] = field(default_factory=dict)
    #: The hook run at every job's events unless it names its own (``[notify] command = "..."``; ``--notify``).
    notify_command: str | None = None
    #: The `drmaa2 serve` server every command goes to (``[remote] url``, ``token_file``; ``DRMAA2_REMOTE``).
    remote: dict[str, str] = field(default_factory=dict)

    @property
    def session(self) -> str:
        return self.values["session"]

    @property
    def backend(self) -> str:
        return self.values["backend"]

    def backend_settings(self, name: str) -> dict[str, Any]:
        return self.backends.get(name, {})


def load_config_file(path: Path) -> dict[str, Any]:
    """Parse the optional TOML config; a broken file, an unknown key or an invalid value is one InvalidArgument
    naming the file and line."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except NotADirectoryError:
        raise StoreError(f"drmaa2 home {path.parent} is not a directory") from None
    except OSError as e:
        raise StoreError(f"cannot read config file {path}: {e.strerror}") from None
    import tomllib  # only when there is a file: the import and its regexes cost ~2 ms of every run

    try:
        text = raw.decode()
        config = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"config file {path} is not valid TOML: {e}") from None
    from .check import check

    check(path, text, config)
    return config


def resolve(
    flags: Mapping[str, str | None] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting once: flag > environment > config file > default."""
    env = os.environ if environ is None else environ
    home = home_dir(env)
    settings = Settings(home=home)
    settings.sources["home"] = f"env {ENV_HOME}" if env.get(ENV_HOME) else "default"
    config: dict[str, Any] | None = None
    for key, default in DEFAULTS.items():
        flag = (flags or {}).get(key)
        if flag:
            settings.values[key], settings.sources[key] = flag, "flag"
            continue
        if env.get(ENV_NAMES[key]):
            settings.values[key], settings.sources[key] = env[ENV_NAMES[key]], f"env {ENV_NAMES[key]}"
            continue
        if config is None:
            config = load_config_file(home / CONFIG_FILE)
        if key in config and not isinstance(config[key], str):
            raise InvalidArgument(f"config file {home / CONFIG_FILE}: {key} must be a string")
        if config.get(key):
            settings.values[key], settings.sources[key] = config[key], "config file"
        else:
            settings.values[key], settings.sources[key] = default, "default"
    if config is None:
        config = load_config_file(home / CONFIG_FILE)
    backends = config.get("backends", {})
    if isinstance(backends, dict):
        settings.backends = {k: v for k, v in backends.items() if isinstance(v, dict)}
    settings.queues = local_queues(config.get("queues", {}), home / CONFIG_FILE)
    settings.session_slots = local_queues(config.get("sessions", {}), home / CONFIG_FILE, "sessions")
    settings.notify_command = (config.get("notify") or {}).get("command") or None
    settings.remote = dict(config.get("remote") or {})
    return settings


def local_queues(table: Any, path: Path, kind: str = "queues") -> dict[str, int]:
    """``[queues.NAME] slots = N`` (or ``[sessions.NAME]``) of the config file, checked: one clear error for a
    bad entry."""
    if not isinstance(table, dict):
        raise InvalidArgument(f"config file {path}: {kind} must be a table ([{kind}.NAME] slots = 4)")
    queues = {}
    for name, entry in table.items():
        slots = entry.get("slots") if isinstance(entry, dict) else None
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise InvalidArgument(f"config file {path}: [{kind}.{name}] needs slots = a whole number from 1 up")
        queues[name] = slots
    return queues

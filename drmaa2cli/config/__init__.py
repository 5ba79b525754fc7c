"""The configuration: where drmaa2 keeps its state and the settings resolved in one place (``settings``), and
the check of the optional config file (``check``, loaded only when there is a file)."""

from __future__ import annotations

from .settings import (
    CONFIG_FILE,
    DEFAULTS,
    ENV_BACKEND,
    ENV_HOME,
    ENV_NAMES,
    ENV_SESSION,
    Settings,
    home_dir,
    load_config_file,
    local_queues,
    resolve,
)

__all__ = ["CONFIG_FILE", "DEFAULTS", "ENV_BACKEND", "ENV_HOME", "ENV_NAMES", "ENV_SESSION", "Settings",
           "home_dir", "load_config_file", "local_queues", "resolve"]

"""drmaa2 config: the effective settings and where each came from."""

from .. import backends, config, render
from ._common import BackendOption, JsonOption, SessionOption, output

HELP = "Show the effective settings and where each came from (flag > environment > config file > default)."


def command(session: SessionOption = None, backend: BackendOption = None, json_out: JsonOption = False) -> int:
    """Show the effective settings."""
    settings = config.resolve({"session": session, "backend": backend})
    out = output()
    path = settings.home / config.CONFIG_FILE
    values = {"home": str(settings.home), "session": settings.session, "backend": settings.backend}
    setup = backends.setup(settings.home, settings.backends)
    if json_out:
        out.json({
            "settings": {k: {"value": v, "source": settings.sources[k]} for k, v in values.items()},
            "config_file": {"path": str(path), "exists": path.exists()},
            "backends": settings.backends,
            "queues": {name: {"slots": slots} for name, slots in sorted(settings.queues.items())},
            "sessions": {name: {"slots": slots} for name, slots in sorted(settings.session_slots.items())},
            "setup": setup,
        })
        return 0
    rows = [[k, v, settings.sources[k]] for k, v in values.items()]
    rows.append(["config file", str(path), "present" if path.exists() else "absent (optional)"])
    for name, table in sorted(settings.backends.items()):
        for key, value in sorted(table.items()):
            rows.append([f"backends.{name}.{key}", str(value), "config file"])
    for name, slots in sorted(settings.queues.items()):
        rows.append([f"queues.{name}.slots", str(slots), "config file (a local queue: --queue " + name + ")"])
    for name, slots in sorted(settings.session_slots.items()):
        rows.append([f"sessions.{name}.slots", str(slots), "config file"])
    for name, notes in setup.items():
        for key, text in notes.items():
            rows.append([f"{name} {key}", text, "detected"])
    render.table(out, ["SETTING", "VALUE", "SOURCE"], rows)
    return 0

"""All output formatting: JSON documents, job tables, detail views. The only package that knows Rich, and it
imports Rich only when writing to a terminal (pipes get plain text, which is also much faster).

``output`` the streams, ``summary`` the JSON document of jobs and arrays, ``tables`` tables and the detail view,
``live`` the progress bar and `status --watch`. The tables and the live views are loaded when first named: a
plain submit prints one line and needs neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .output import STATE_STYLE, Output, printable, safe_streams
from .summary import ArraySummary, array_summaries, ended_document, jobs_document

if TYPE_CHECKING:
    from .live import WaitProgress, watch
    from .tables import (
        cell_width,
        command_line,
        job_detail,
        job_rows,
        jobs_table,
        machines_table,
        platform_jobs_table,
        queues_table,
        table,
    )

__all__ = ["STATE_STYLE", "ArraySummary", "Output", "WaitProgress", "array_summaries", "cell_width",
           "command_line", "ended_document", "job_detail", "job_rows", "jobs_document", "jobs_table",
           "machines_table", "platform_jobs_table", "printable", "queues_table", "safe_streams", "table", "watch"]

_LAZY = {"WaitProgress": "live", "watch": "live", **dict.fromkeys(
    ("cell_width", "command_line", "job_detail", "job_rows", "jobs_table", "machines_table", "platform_jobs_table",
     "queues_table", "table"), "tables")}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

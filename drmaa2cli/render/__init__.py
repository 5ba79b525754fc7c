"""All output formatting: JSON documents, job tables, detail views. The only package that knows Rich, and it
imports Rich only when writing to a terminal (pipes get plain text, which is also much faster).

``output`` the streams, ``summary`` the JSON document of jobs and arrays, ``tables`` tables and the detail view,
``live`` the progress bar and `status --watch`.
"""

from __future__ import annotations

from .live import WaitProgress, watch
from .output import STATE_STYLE, Output, printable, safe_streams
from .summary import ArraySummary, array_summaries, jobs_document
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
           "command_line", "job_detail", "job_rows", "jobs_document", "jobs_table", "machines_table",
           "platform_jobs_table", "printable", "queues_table", "safe_streams", "table", "watch"]


"""In-process tests start no process, so the sweep after each test for the processes it left (tests/conftest.py,
a scan of /proc that costs more than these tests) is replaced by nothing here; the sweep at the end of the run
still looks for any."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _end_the_tests_processes() -> Iterator[None]:
    yield

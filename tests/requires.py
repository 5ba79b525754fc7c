"""What a test needs from the machine that it cannot provide itself (root, an engine, a scheduler, a cgroup).

Under ``CI=true`` a missing piece fails the run: a skipped test there would pass as coverage it is not.
Elsewhere, on a developer's machine without it, the test is skipped, saying why.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Fail (under CI=true) or skip the calling test because ``reason``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing engine or privilege is a failure)", pytrace=False)
    pytest.skip(reason)

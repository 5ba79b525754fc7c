"""The stress and fault suite's fixtures: its scale and each test's figures (report.py says what they are)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Figures
from .report import FIGURES_KEY, Scale, current_scale

__all__ = ["Scale", "current_scale"]  # the scale's names, as the tests import them


@pytest.fixture(scope="session")
def scale() -> Scale:
    return current_scale()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Counters for this test, for the closing summary; they travel in the test's report, so that the summary
    has them also when the test ran in another worker (pytest-xdist)."""
    fig = Figures()
    yield fig
    request.node.user_properties.append((FIGURES_KEY, fig.snapshot()))

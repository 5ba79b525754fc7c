"""The contract's bookkeeping: every backend is in the suite and the README, every case has a test, and every
refusal a backend declares names a real case (the checks of the refusals themselves are in the case's test)."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from drmaa2cli import docgen
from drmaa2cli.backends import REGISTRY, backend_class
from drmaa2cli.backends.contract import CASES, Refusal, check

from . import test_control, test_results
from .conftest import BACKENDS


def cases_tested(*modules: ModuleType) -> set[str]:
    found = set()
    for module in modules:
        for _, fn in inspect.getmembers(module, inspect.isfunction):
            found |= {m.args[0] for m in getattr(fn, "pytestmark", []) if m.name == "case"}
    return found


def test_every_backend_is_in_the_suite_and_the_readme() -> None:
    assert sorted(BACKENDS) == sorted(REGISTRY) == sorted(docgen.BACKENDS)


def test_every_case_has_a_test() -> None:
    assert cases_tested(test_results, test_control) == set(CASES)


def test_refusals_name_real_cases() -> None:
    for name in REGISTRY:
        assert set(backend_class(name).refuses) <= set(CASES), name
    with pytest.raises(ValueError, match="no-such-case"):
        check({"no-such-case": Refusal("why")}, "Test")

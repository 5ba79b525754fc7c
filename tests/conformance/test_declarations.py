"""The contract's bookkeeping: every backend is in the suite and the README, every case has a test, and every
refusal a backend declares names a real case (the checks of the refusals themselves are in the case's test)."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType

import pytest

from drmaa2cli import docgen
from drmaa2cli.backends import REGISTRY, Backend, BackendContext, backend_class, check_data, data_shape
from drmaa2cli.backends.contract import CASES, Refusal, check
from drmaa2cli.errors import UnsupportedAttribute
from drmaa2cli.models import JobTemplate

from . import (
    test_alike,
    test_attempts,
    test_control,
    test_job_scripts,
    test_monitoring,
    test_notify,
    test_queues,
    test_results,
    test_run,
)
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
    modules = (test_results, test_control, test_job_scripts, test_monitoring, test_queues, test_run, test_attempts,
               test_alike, test_notify)
    assert cases_tested(*modules) == set(CASES)


def test_refusals_name_real_cases() -> None:
    for name in REGISTRY:
        assert set(backend_class(name).refuses) <= set(CASES), name
    with pytest.raises(ValueError, match="no-such-case"):
        check({"no-such-case": Refusal("why")}, "Test")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_extension_keys_a_backend_does_not_declare_are_refused(name: str, tmp_path: Path) -> None:
    backend = backend_class(name)(BackendContext(tmp_path))
    for key in ("user", "pull", "native", "no-such-key"):
        template = JobTemplate(remote_command="true", extension={key: True})
        if key in backend.extensions:
            backend.check_template(template)
            continue
        what = "the extension 'no-such-key'" if key == "no-such-key" else f"--{key}"
        with pytest.raises(UnsupportedAttribute, match=f"^the {name} backend cannot honour {what}$"):
            backend.check_template(template)
    backend.check_template(JobTemplate(remote_command="true", extension={"no-such-key": False}))


def test_the_store_checks_each_backend_s_data_as_its_class_declares_it() -> None:
    for name in REGISTRY:
        cls = backend_class(name)
        assert cls.data_shape and cls.data_shape == data_shape(name), name
        # The store reads the declaration without loading the class: an override would not be heard.
        assert cls.check_data.__func__ is Backend.check_data.__func__, name
    assert check_data("process", {"shepherd": "12", "group": "1"}) == "backend data shepherd has the wrong type"
    assert check_data("process", {"shepherd": True}) == "backend data shepherd has the wrong type"
    assert check_data("docker", {"submitter": {"pid": 1.5}}) == "backend data pid has the wrong type"
    assert check_data("docker", {"submitter": [], "container": 3}) == "backend data container has the wrong type"
    assert check_data("slurm", {"missing_since": 1.5, "after": ["3"], "unknown": object(), "job_id": None}) is None
    assert check_data("no-such-backend", {"shepherd": "12"}) is None


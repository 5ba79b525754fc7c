"""The cf fixtures for the tests in this directory (see fixtures.py)."""

from tests.cf.fixtures import cf_backend, cf_home, cf_target, drmaa2_home, harness, standin

__all__ = ["cf_backend", "cf_home", "cf_target", "drmaa2_home", "harness", "standin"]

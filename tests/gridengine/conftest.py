"""The gridengine fixtures for the tests in this directory (see fixtures.py)."""

from .fixtures import gridengine, gridengine_env, gridengine_target  # noqa: F401

"""The slurm fixtures for the tests in this directory (see fixtures.py)."""

from .fixtures import slurm, slurm_env, slurm_target  # noqa: F401

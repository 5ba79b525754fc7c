"""The docker fixtures for the tests in this directory (see fixtures.py and cli.py)."""

from tests.docker.cli import docker_cli
from tests.docker.fixtures import docker_engine, docker_target, jobs, sdk

__all__ = ["docker_cli", "docker_engine", "docker_target", "jobs", "sdk"]

"""The docker fixtures for the tests in this directory (see fixtures.py)."""

from tests.docker.fixtures import docker_engine, docker_target, jobs, sdk

__all__ = ["docker_engine", "docker_target", "jobs", "sdk"]

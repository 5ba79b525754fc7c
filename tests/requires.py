"""What a test needs from the machine: commands it installs itself when they are missing (``command``), and what
it cannot provide itself (root, an engine, a scheduler, a cgroup: ``unavailable``).

Under ``CI=true`` a missing piece fails the run: a skipped test there would pass as coverage it is not.
Elsewhere, on a developer's machine without it, the test is skipped, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Fail (under CI=true) or skip the calling test because ``reason``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing engine or privilege is a failure)", pytrace=False)
    pytest.skip(reason)


def apt_install(*packages: str) -> str | None:
    """Install Debian ``packages`` as tests/infra/*.sh do (waiting for dpkg's lock, updating the package lists
    of a fresh machine when the first try fails); None when done, else why not."""
    if shutil.which("apt-get") is None:
        return "there is no apt-get here"
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    apt = [*prefix, "apt-get", "-o", "DPkg::Lock::Timeout=600", "-q"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*apt, "install", "-y", "--no-install-recommends", *packages]
    last = ""
    for steps in ([install], [[*apt, "update"], install]):
        for step in steps:
            try:
                proc = subprocess.run(step, capture_output=True, text=True, env=env, timeout=900, check=False)
            except (OSError, subprocess.TimeoutExpired) as e:
                return f"{' '.join(step)}: {e}"
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
                break
        else:
            return None
    return f"apt-get install {' '.join(packages)} failed: {last}"


def command(name: str, package: str) -> str:
    """The path of the command ``name``, installing Debian's ``package`` first when it is missing."""
    found = shutil.which(name)
    if found is None:
        problem = apt_install(package)
        found = shutil.which(name)
        if found is None:
            unavailable(f"{name} is not installed and the test set-up could not install {package}: "
                        f"{problem or f'the package has no {name}'}")
    return found

"""A real browser for the dashboard's tests: Debian's chromium, headless, driven through its WebDriver
(chromium-driver) by selenium; installed by tests/infra/chromium.sh when missing. One browser per test module,
beside the module's one server (``tests/serve/conftest.py``). Screenshots go to ``screenshots/`` under the run's
pytest directory (printed at the end), the test artefacts to look at."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.support.wait import WebDriverWait

from tests.requires import unavailable
from tests.serve.conftest import Server, serving

INFRA = Path(__file__).resolve().parents[1] / "infra" / "chromium.sh"
#: How long a test waits for the page to show something (a loaded machine: generous).
PATIENCE = 60.0


def chromium() -> tuple[str, str]:
    """The paths of chromium and chromedriver, installing them first when either is missing."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        r = subprocess.run(["sh", str(INFRA)], capture_output=True, text=True, timeout=1200, check=False)
        browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
        if r.returncode != 0 or browser is None or driver is None:
            why = (r.stderr.strip().splitlines() or ["?"])[-1]
            unavailable(f"no headless chromium: tests/infra/chromium.sh: {why}")
    assert browser is not None and driver is not None
    return browser, driver


class Page:
    """The dashboard of ``server`` in one chromium."""

    def __init__(self, driver: webdriver.Chrome, server: Server, shots: Path) -> None:
        self.driver, self.server, self.shots = driver, server, shots

    def open(self, hash_: str = "", token: str | None = None) -> None:
        """The dashboard at ``#hash_``, with ``token`` kept in the tab's session storage (as after the prompt)."""
        self.driver.get(self.server.url + "/")
        if token is not None:
            self.driver.execute_script(
                "sessionStorage.clear(); sessionStorage.setItem('drmaa2.token', arguments[0]);", token)
            self.driver.get(f"{self.server.url}/#{hash_}")
            self.driver.refresh()

    def until(self, check: Callable[[webdriver.Chrome], Any], what: str, timeout: float = PATIENCE) -> Any:
        # An element found in one look may be redrawn by the next change pushed: look again.
        wait = WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,))
        return wait.until(check, f"{what}: not within {timeout:g} s")

    def text(self, css: str) -> str:
        # Read in the page in one step: the page may redraw an element between a lookup and a read.
        found = self.driver.execute_script("const e = document.querySelector(arguments[0]);"
                                           "return e ? e.innerText : ''", css)
        return str(found)

    def shows(self, css: str, words: str, what: str) -> None:
        self.until(lambda d: words in self.text(css), f"{what} ({words!r} in {css})")

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.getbasetemp() / "screenshots"
    path.mkdir(exist_ok=True)
    yield path
    print(f"\ndashboard screenshots: {path}")


@pytest.fixture(scope="module")
def browser(screenshots: Path) -> Iterator[webdriver.Chrome]:
    binary, driver_path = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,760",
                     "--no-first-run", "--disable-extensions", "--lang=en-GB"):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # chromium's sandbox cannot start as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=DriverService(driver_path), options=options)
    except WebDriverException as e:
        unavailable(f"chromium does not start headless: {e.msg}")
    driver.set_page_load_timeout(PATIENCE)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(tmp_path_factory.mktemp("dashboard") / "home")


@pytest.fixture
def page(server: Server, browser: webdriver.Chrome, screenshots: Path) -> Page:
    # The server first: then the browser closes its streams before the server stops (no graceful wait).
    return Page(browser, server, screenshots)

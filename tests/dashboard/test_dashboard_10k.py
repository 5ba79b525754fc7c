"""The dashboard over a home of 10,000 jobs (written through the store API, as the benchmark's histories are):
the list draws only the rows in view, and the time to first paint and to the first rows is measured in
chromium (the Performance API) and printed, and kept beside the screenshots as ``dashboard-10k.json``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from bench.history import make_history
from tests.dashboard.conftest import Page
from tests.serve.conftest import Server, make_token, start, stop

JOBS = 10_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("dashboard10k") / "home"
    make_history(home, JOBS)
    token = make_token(home)
    proc, url = start(home, "--port", "0")
    yield Server(url, home, token, token, proc)
    stop(proc)


TIMINGS = ("const paint = Object.fromEntries("
           "performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));"
           "const list = performance.getEntriesByName('drmaa2:list')[0];"
           "return {...paint, 'list': list ? list.startTime : null}")


def test_ten_thousand_jobs_paint_fast_and_only_the_rows_in_view_are_drawn(page: Page, screenshots: Path) -> None:
    figures = {}
    for visit in ("first visit", "reload"):  # the server reads the store cold, then its shards are kept
        if visit == "reload":
            page.driver.refresh()
        else:
            page.open("/", page.server.token)
        page.shows("#count", f"{JOBS} of {JOBS} jobs and tasks", "every job in the list")
        page.until(lambda d: d.execute_script(TIMINGS)["list"] is not None, "the list's mark")
        figures[visit] = page.driver.execute_script(TIMINGS)
    drawn = len(page.driver.find_elements(By.CSS_SELECTOR, "#jobs .window .row"))
    assert 0 < drawn < 100  # drawn: the rows in view, not 10,000
    assert page.text("#jobs .window .row").startswith(str(JOBS))  # newest first
    page.shot("jobs-10k")
    page.driver.execute_script("const l = document.getElementById('jobs'); l.scrollTop = l.scrollHeight")
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#jobs .row[data-id="1"]'),
               "job 1 after scrolling to the end")
    (screenshots / "dashboard-10k.json").write_text(json.dumps({"jobs": JOBS, **figures}, indent=1))
    for visit, t in figures.items():
        print(f"\ndashboard with {JOBS} jobs, {visit}: first contentful paint "
              f"{t['first-contentful-paint']:.0f} ms, the list drawn {t['list']:.0f} ms after navigation")

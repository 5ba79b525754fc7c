"""The dashboard in a real browser (headless chromium), against a real `drmaa2 serve`: the token prompt, the
job list updated live by the event stream, a job's page with its output followed, an array's progress bar and
timeline, the machines, and the control buttons of a token that may control (absent for a read-only one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.conftest import gate
from tests.dashboard.conftest import Page
from tests.serve.conftest import Server

GO = Path("go")  # a job's gate, in its working directory (a short command to show)


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    """A client with the control token; kills what the test left running."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60) as c:
        yield c
        listed = c.get("/v1/jobs", params={"state": "queued,running,queued_held"}).json()["jobs"]
        active = [j["id"] for j in listed]
        for job_id in active:
            c.post(f"/v1/jobs/{job_id}/kill", json={"signal": 9})


def submit(api: httpx.Client, script: str, name: str, array: str | None = None, cwd: Path | None = None) -> str:
    """The job's number; run in ``cwd``, where its gate file (``gate(GO)``) is made."""
    template = {"remote_command": "sh", "args": ["-c", script], "job_name": name}
    body = {"template": {**template, **({"working_directory": str(cwd)} if cwd else {})}}
    r = api.post("/v1/jobs", json={**body, **({"array": array} if array else {})})
    assert r.status_code == 201, r.text
    job_id: str = r.json()["jobs"][0]["id"]
    return job_id.split(".")[0]


def choose(driver: WebDriver, name: str, value: str) -> bool:
    Select(driver.find_element(By.CSS_SELECTOR, f"select[name={name}]")).select_by_value(value)
    return True


def test_the_token_prompt_refuses_a_wrong_token_and_keeps_the_right_one_in_session_storage(page: Page) -> None:
    page.driver.get(page.server.url + "/")
    page.driver.execute_script("sessionStorage.clear()")
    page.driver.refresh()
    page.until(lambda d: d.find_element(By.ID, "login").get_attribute("open") is not None, "the token prompt")
    page.shot("login")
    page.driver.find_element(By.ID, "token").send_keys("drmaa2_wrong")
    page.driver.find_element(By.ID, "login-submit").click()
    page.shows("#login-error", "refused", "a wrong token is refused")
    page.driver.find_element(By.ID, "token").send_keys(page.server.token)
    page.driver.find_element(By.ID, "login-submit").click()
    page.until(lambda d: d.find_element(By.ID, "login").get_attribute("open") is None, "the prompt closes")
    page.shows("#live", "live", "the event stream is read")
    kept = page.driver.execute_script("return [sessionStorage.getItem('drmaa2.token'), localStorage.length, "
                                      "document.cookie, location.href]")
    assert kept[:3] == [page.server.token, 0, ""]
    assert page.server.token not in kept[3]  # never in an address
    assert "token may control" in page.text("#who")


def test_the_list_shows_a_job_submitted_through_the_api_and_its_end_without_a_reload(
        page: Page, api: httpx.Client, tmp_path: Path) -> None:
    page.open("/", page.server.token)
    page.shows("#live", "live", "the event stream is read")
    page.driver.execute_script("window.sameDocument = true")
    job = submit(api, f"echo started; {gate(GO)}", "listed-live", cwd=tmp_path)
    row = f'#jobs .row[data-id="{job}"]'
    page.shows(row, "running", "the new job, running")
    assert "listed-live" in page.text(row)
    (tmp_path / "go").touch()
    page.shows(row, "done", "the job's end, pushed")
    assert page.driver.execute_script("return window.sameDocument") is True  # pushed, not reloaded
    page.until(lambda d: choose(d, "state", "done"), "the state filter chosen")
    page.until(lambda d: d.execute_script(
        "const rows = [...document.querySelectorAll('#jobs .window .row:not([data-kind])')];"
        "return rows.length > 0 && rows.every((r) => r.dataset.state === 'done')"), "the state filter")
    page.shot("jobs-filtered")
    page.until(lambda d: choose(d, "state", ""), "the state filter cleared")


def test_a_job_page_shows_its_template_accounting_and_output_followed_live(
        page: Page, api: httpx.Client, tmp_path: Path) -> None:
    job = submit(api, f"echo first line; {gate(GO)}; echo second line; echo oops >&2; exit 3", "with-output",
                 cwd=tmp_path)
    page.open(f"/job/{job}", page.server.token)
    page.shows("#stdout", "first line", "the output so far")
    assert "second line" not in page.text("#stdout")
    (tmp_path / "go").touch()
    page.shows("#stdout", "second line", "the output followed live")
    page.shows("#stderr", "oops", "the error stream")
    page.shows("[data-field='exit code']", "3", "the exit code")
    assert "sh -c" in page.text("[data-field=command]")
    assert page.text("[data-field=machine]")
    assert "ended (failed)" in page.text("main")
    page.shot("job")


def test_an_array_has_a_progress_bar_its_failed_tasks_and_a_timeline(page: Page, api: httpx.Client) -> None:
    job = submit(api, 'echo task $DRMAA2_TASK_ID; [ "$DRMAA2_TASK_ID" != 3 ]', "four-tasks", array="1-4")
    assert api.get(f"/v1/jobs/{job}/wait", params={"timeout": "60s"}).json()["ended"]
    page.open(f"/array/{job}", page.server.token)
    page.shows("#progress", "4 of 4 tasks ended", "the array's progress")
    assert "3 done" in page.text("#progress") and "1 failed" in page.text("#progress")
    assert page.text("#failed") == "Failed tasks: 3"
    done, states = page.driver.execute_script(
        "const bar = document.querySelector('#array [role=progressbar]');"
        "return [bar.getAttribute('aria-valuenow'), [...bar.children].map((s) => s.dataset.state)]")
    assert (done, sorted(states)) == ("4", ["done", "failed"])
    page.until(lambda d: d.find_element(By.ID, "timeline").get_attribute("data-bars") == "4", "four timeline bars")
    page.shot("array")
    page.open("/", page.server.token)
    page.shows(f'#jobs .row[data-id="{job}"]', "1 failed", "the array in the list, as one row")
    page.shot("jobs")
    page.driver.get(f"{page.server.url}/#/session/default")
    page.until(lambda d: int(d.find_element(By.ID, "timeline").get_attribute("data-bars") or 0) >= 4,
               "the session's timeline")
    page.shot("session")


def test_machines_and_queues(page: Page) -> None:
    page.open("/platform", page.server.token)
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#machines table tr td"), "the machines table")
    assert "cores" in page.text("#machines")
    page.shot("platform")


def test_kill_works_with_a_control_token_and_is_absent_for_a_read_only_one(
        page: Page, api: httpx.Client, tmp_path: Path) -> None:
    job = submit(api, gate(GO), "to-kill", cwd=tmp_path)
    page.open(f"/job/{job}", page.server.read_only)
    page.shows("main h1", "running", "the running job")
    assert "read-only token" in page.text("#who")
    assert page.driver.find_elements(By.CSS_SELECTOR, "main button") == []
    page.open(f"/job/{job}", page.server.token)
    # Found and clicked in one step in the page: the page redraws the job (and its buttons) when it changes.
    page.until(lambda d: d.execute_script("const b = document.getElementById('do-kill');"
                                          "if (!b || b.disabled) return false; b.click(); return true"),
               "the kill button, enabled")
    page.shows("main h1", "failed", "the job killed")
    assert api.get(f"/v1/jobs/{job}").json()["jobs"][0]["state"] == "failed"
    assert page.driver.execute_script("return document.getElementById('do-kill').disabled") is True

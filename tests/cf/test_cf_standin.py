"""The stand-in itself behaves as the published Cloud Foundry does (see the cf v3 note): these checks keep
the backend tests honest."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cf_standin import StandIn


@pytest.fixture
def api(standin: StandIn) -> Iterator[httpx.Client]:
    token = standin.login()["access_token"]
    with httpx.Client(base_url=standin.url, headers={"Authorization": f"bearer {token}"}) as client:
        yield client


def error(resp: httpx.Response) -> tuple[int, int, str]:
    (err,) = resp.json()["errors"]
    return resp.status_code, err["code"], err["title"]


def create(api: httpx.Client, standin: StandIn, app: str = "worker", **body: Any) -> httpx.Response:
    return api.post(f"/v3/apps/{standin.world.find_app(app).guid}/tasks", json={"command": "true", **body})


def test_root_links(standin: StandIn) -> None:
    links = httpx.get(standin.url + "/").json()["links"]
    assert links["cloud_controller_v3"]["href"] == standin.url + "/v3"
    assert {"login", "uaa", "log_cache"} <= {k for k, v in links.items() if v}


def test_create_answers_running_with_per_app_sequence_ids(api: httpx.Client, standin: StandIn) -> None:
    first, second = create(api, standin), create(api, standin, name="n")
    other = api.post(f"/v3/apps/{standin.world.find_app('worker', 'prod').guid}/tasks", json={"command": "true"})
    assert first.status_code == 202 and first.json()["state"] == "RUNNING"
    assert [r.json()["sequence_id"] for r in (first, second, other)] == [1, 2, 1]
    assert len(first.json()["name"]) == 8 and second.json()["name"] == "n"


def test_create_errors(api: httpx.Client, standin: StandIn) -> None:
    assert error(create(api, standin, bogus=1)) == (422, 10008, "CF-UnprocessableEntity")
    assert "Unknown field(s): 'bogus'" in create(api, standin, bogus=1).text
    assert error(create(api, standin, "nodroplet")) == (422, 10008, "CF-UnprocessableEntity")
    assert error(create(api, standin, memory_in_mb=0)) == (422, 10008, "CF-UnprocessableEntity")
    missing = api.post("/v3/apps/00000000-0000-0000-0000-000000000000/tasks", json={"command": "true"})
    assert error(missing) == (404, 10010, "CF-ResourceNotFound")
    assert standin.world.tasks == {}


def test_unknown_query_parameter_is_400(api: httpx.Client) -> None:
    assert error(api.get("/v3/tasks", params={"bogus": "1"})) == (400, 10005, "CF-BadQueryParameter")
    assert error(api.get("/v3/tasks", params={"per_page": "5001"})) == (400, 10005, "CF-BadQueryParameter")


def test_pagination_links_are_absolute(api: httpx.Client, standin: StandIn) -> None:
    guids = {create(api, standin).json()["guid"] for _ in range(3)}
    page = api.get("/v3/tasks", params={"per_page": "2"}).json()
    assert page["pagination"]["total_results"] == 3 and page["pagination"]["total_pages"] == 2
    nxt = page["pagination"]["next"]["href"]
    assert nxt.startswith(standin.url + "/v3/tasks?")
    last = api.get(nxt).json()
    assert last["pagination"]["next"] is None
    assert {t["guid"] for t in page["resources"] + last["resources"]} == guids


def test_cancel_goes_canceling_then_failed(api: httpx.Client, standin: StandIn) -> None:
    guid = create(api, standin, command="sleep 30").json()["guid"]
    canceled = api.post(f"/v3/tasks/{guid}/actions/cancel")
    assert canceled.status_code == 202 and canceled.json()["state"] == "CANCELING"
    while (t := api.get(f"/v3/tasks/{guid}").json())["state"] == "CANCELING":
        time.sleep(0.05)
    assert (t["state"], t["result"]["failure_reason"]) == ("FAILED", "task was cancelled")
    again = api.post(f"/v3/tasks/{guid}/actions/cancel")
    assert error(again) == (422, 10008, "CF-UnprocessableEntity")
    assert "Task state is FAILED and therefore cannot be canceled" in again.text


def test_tokens_expire_and_are_checked(standin: StandIn) -> None:
    expired = standin.login(ttl=-1)["access_token"]
    resp = httpx.get(standin.url + "/v3/tasks", headers={"Authorization": f"bearer {expired}"})
    assert error(resp) == (401, 1000, "CF-InvalidAuthToken")
    assert error(httpx.get(standin.url + "/v3/tasks")) == (401, 10002, "CF-NotAuthenticated")


def test_every_answer_has_a_request_id(api: httpx.Client, standin: StandIn) -> None:
    answers = [
        api.get("/"),
        api.get("/v3/tasks"),
        api.get("/v3/tasks", params={"x": "1"}),
        create(api, standin),
        httpx.post(standin.url + "/uaa/oauth/token", data={"grant_type": "password"}),
        api.get(f"/log-cache/api/v1/read/{standin.world.find_app('worker').guid}"),
    ]
    assert all("::" in r.headers["X-Vcap-Request-Id"] for r in answers)


def test_log_envelopes_end_with_exit_status(api: httpx.Client, standin: StandIn) -> None:
    app = standin.world.find_app("worker").guid
    guid = create(api, standin, command="echo hi; exit 4", name="logs").json()["guid"]
    while api.get(f"/v3/tasks/{guid}").json()["state"] == "RUNNING":
        time.sleep(0.05)
    batch = api.get(f"/log-cache/api/v1/read/{app}", params={"envelope_types": "LOG"}).json()["envelopes"]["batch"]
    task_lines = [e for e in batch if e["tags"]["source_type"] == "APP/TASK/logs"]
    assert [e["log"]["payload"] for e in task_lines] == [
        "aGk=",
        "RXhpdCBzdGF0dXMgNA==",
    ]  # "hi", "Exit status 4"
    assert any(e["tags"]["source_type"] == "CELL" for e in batch)


def test_faults_and_request_log_over_http(standin: StandIn) -> None:
    assert httpx.post(standin.url + "/_standin/faults", json={"method": "GET", "path": "^/$", "kind": "503"})
    assert httpx.get(standin.url + "/").status_code == 503
    assert httpx.get(standin.url + "/").status_code == 200
    log = httpx.get(standin.url + "/_standin/requests").json()["requests"]
    assert [(r["path"], r["status"], r["fault"]) for r in log[1:3]] == [("/", 503, "503"), ("/", 200, None)]


def test_runs_as_a_module_with_a_cf_login(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cf_standin", "--cf-home", str(tmp_path)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        config = json.loads((tmp_path / ".cf" / "config.json").read_text())
        assert config["Target"] == url and stat.S_IMODE((tmp_path / ".cf" / "config.json").stat().st_mode) == 0o600
        resp = httpx.get(
            url + "/v3/apps", params={"names": "worker"}, headers={"Authorization": config["AccessToken"]}
        )
        assert resp.json()["pagination"]["total_results"] == 2
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0

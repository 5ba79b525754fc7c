"""The dashboard's event stream and files over a real server, without a browser: 64 streams at once each get
the snapshot and then a job's changes as they happen, while the API still answers (no thread is held per
stream), and one more is refused; /v1/whoami tells a token's kind; the page's files need no token and are the
only files served without one."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bench.history import make_history
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.serve import static
from drmaa2cli.serve.events import archived_row, row
from drmaa2cli.store import Store
from tests.serve.conftest import Server

STREAMS = 64  # the server's limit (serve/state.py, Limits.streams)


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """The (event, data) of a server-sent event stream; comment lines (keep-alives) skipped."""
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


async def until_ended(stream: AsyncIterator[tuple[str, Any]], job_id: str) -> list[str]:
    """The states of ``job_id`` the stream pushed, up to its end."""
    states: list[str] = []
    async for event, data in stream:
        assert event == "change"
        states += [r[4] for r in data["rows"] if r[0] == job_id]
        if states and states[-1] in ("done", "failed"):
            return states
    raise AssertionError("the stream ended before the job")


def test_64_streams_get_a_job_s_changes_as_they_happen_and_one_more_is_refused(server: Server) -> None:
    async def main() -> None:
        auth = {"Authorization": f"Bearer {server.token}"}
        limits = httpx.Limits(max_connections=STREAMS + 8)
        async with httpx.AsyncClient(base_url=server.url, headers=auth, timeout=60, limits=limits) as c:
            opened = [c.stream("GET", "/v1/events") for _ in range(STREAMS)]
            responses = await asyncio.gather(*(o.__aenter__() for o in opened))
            try:
                assert {r.status_code for r in responses} == {200}
                assert {r.headers["content-type"].split(";")[0] for r in responses} == {"text/event-stream"}
                streams = [events(r) for r in responses]
                firsts = await asyncio.gather(*(s.__anext__() for s in streams))
                assert {event for event, _ in firsts} == {"snapshot"}
                assert firsts[0][1]["columns"][:5] == ["id", "name", "session", "backend", "state"]
                refused = await c.get("/v1/events")
                assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
                assert (await c.get("/v1/jobs")).status_code == 200  # every stream open, the API answers
                r = await c.post("/v1/jobs", json={"template": {"remote_command": "sh", "args": ["-c", "exit 4"]}})
                job_id = r.json()["jobs"][0]["id"]
                seen = await asyncio.wait_for(asyncio.gather(*(until_ended(s, job_id) for s in streams)), 90)
                assert all(states[-1] == "failed" for states in seen)
            finally:
                await asyncio.gather(*(o.__aexit__(None, None, None) for o in opened))

    asyncio.run(main())


def test_whoami_tells_a_token_s_kind_and_the_stream_needs_a_token(server: Server) -> None:
    for token, read_only in ((server.token, False), (server.read_only, True)):
        r = httpx.get(f"{server.url}/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["read_only"] is read_only
        assert token not in r.text
    assert httpx.get(f"{server.url}/v1/whoami").status_code == 401
    assert httpx.get(f"{server.url}/v1/events", timeout=10).status_code == 401


def test_the_page_s_files_need_no_token_and_no_other_file_is_served_without_one(server: Server) -> None:
    with httpx.Client(base_url=server.url) as c:
        check_files(c)


def check_files(c: httpx.Client) -> None:
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for name in ("dashboard.js", "views.js", "dashboard.css", "favicon.svg"):
        assert c.get(f"/dashboard/{name}").status_code == 200
    for path in ("/dashboard/../serve-tokens.json", "/dashboard/%2e%2e/serve-tokens.json", "/dashboard/",
                 "/dashboard/nothing.js", "/index.html", "/serve-tokens.json", "/jobs.json"):
        r = c.get(path)
        assert r.status_code == 401 and "sha256" not in r.text, path
    assert c.post("/", content=b"x").status_code == 405


def test_every_file_of_the_page_exists_and_is_package_data() -> None:
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for name, _ in static.FILES.values():
        assert (root / "drmaa2cli" / "serve" / "dashboard" / name).is_file(), name
        assert any(fnmatch.fnmatch(f"dashboard/{name}", g) for g in globs["drmaa2cli.serve"]), name


def test_an_archived_record_s_row_is_the_row_of_its_job(tmp_path: Path) -> None:
    """``archived_row`` reads a stored record without making a JobInfo: it must say what ``row`` says."""
    home = tmp_path / "home"
    make_history(home, 30)
    with Store(home).transaction() as txn:  # one killed by a signal, one without a name or times
        killed = JobInfo(id=str(txn.allocate()), session="s", backend="process", state=JobState.FAILED,
                         template=JobTemplate(remote_command="sleep", job_name="k"), signal=9, exit_status=None,
                         submission_time=1.0, dispatch_time=2.0, finish_time=3.5, annotation="killed")
        bare = JobInfo(id=str(txn.allocate()), session="s", backend="docker", state=JobState.DONE,
                       template=JobTemplate(remote_command="true"), exit_status=0)
        txn.put_many([killed, bare])
    records = [*Store(home).snapshot().live_records(), *Store(home).snapshot().archived_records()]
    assert len({r["id"] for r in records}) == 32
    for record in records:
        assert archived_row(record) == row(JobInfo.from_record(record)), record["id"]
    assert archived_row(killed.to_record())[5] == 137

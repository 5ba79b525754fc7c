"""Hostile bodies for every operation that takes one, in process: whatever JSON a client sends, the answer is
one of the documented ones (never a 500), and an error names its exit code. Submits are held, so nothing
runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drmaa2cli.models import JobTemplate
from tests.serve.conftest import in_process

FINITE = st.floats(allow_nan=False, allow_infinity=False)  # the client's encoder has no NaN (sent raw below)
SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | FINITE | st.text(max_size=12)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=6)
FIELDS = sorted(JobTemplate().__dict__)
TEMPLATES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), VALUES, max_size=5)
BODIES = st.fixed_dictionaries({"template": TEMPLATES}, optional={
    "array": VALUES, "after": VALUES, "after_mode": VALUES, "session": VALUES, "backend": VALUES}) | VALUES
CHANGES = st.dictionaries(st.sampled_from(["name", "priority", "start_time", "timeout", "after", "after_mode"])
                          | st.text(max_size=6), VALUES, max_size=4)
ANSWERS = {200, 201, 400, 404, 409, 413, 501}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(st.tuples(BODIES, CHANGES, st.sampled_from(["kill", "hold", "release", "resume"])),
                       min_size=1, max_size=2))
def test_no_body_gets_a_500(tmp_path: Path, bodies: list[tuple[Any, dict[str, Any], str]]) -> None:
    async def main() -> None:
        async with in_process(tmp_path / "home", raise_app_exceptions=False) as c:
            for body, changes, action in bodies:
                if isinstance(body, dict) and isinstance(body.get("template"), dict):
                    body["template"]["submit_as_hold"] = True  # nothing the fuzzer makes ever runs
                answers = [await c.post("/v1/jobs", json=body)]
                answers.append(await c.patch("/v1/jobs/1", json=changes))
                answers.append(await c.post(f"/v1/jobs/1/{action}", json=changes))
                answers.append(await c.get("/v1/jobs", params={k: str(v) for k, v in changes.items()}))
                # What Python's JSON reads and others do not: NaN and Infinity, anywhere.
                answers.append(await c.patch("/v1/jobs/1", content=b'{"timeout": NaN, "start_time": Infinity}'))
                answers.append(await c.post("/v1/jobs", content=b'{"template": {"remote_command": "true", '
                                            b'"submit_as_hold": true, "timeout": -Infinity, "priority": NaN}}'))
                for r in answers:
                    assert r.status_code in ANSWERS, (r.request.method, r.request.url, r.text)
                    if r.status_code >= 400:
                        assert isinstance(r.json()["error"]["exit_status"], int)

    anyio.run(main)


def test_numbers_json_has_not_and_out_of_range_changes_are_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with in_process(tmp_path / "home") as c:
            held = await c.post("/v1/jobs", json={"template": {"remote_command": "true", "submit_as_hold": True}})
            job = held.json()["jobs"][0]["id"]
            for raw in (b'{"timeout": NaN}', b'{"start_time": Infinity}', b'{"priority": -Infinity}'):
                assert (await c.patch(f"/v1/jobs/{job}", content=raw)).status_code == 400
            for changes in ({"priority": 10**20}, {"timeout": 0}, {"start_time": 1e300}, {"timeout": -5}):
                r = await c.patch(f"/v1/jobs/{job}", json=changes)
                assert r.status_code == 400 and r.json()["error"]["exit_status"] == 201, changes
            assert (await c.patch(f"/v1/jobs/{job}", json={"priority": 7})).json()["jobs"][0]["priority"] == 7
            assert (await c.post(f"/v1/jobs/{job}/kill")).status_code == 200

    anyio.run(main)


def test_a_key_whose_first_submit_failed_submits_anew_for_every_retry(tmp_path: Path) -> None:
    async def main() -> None:
        async with in_process(tmp_path / "home", **{"Idempotency-Key": "k"}) as c:
            bad = {"template": {"remote_command": "true", "submit_as_hold": True, "priority": 10**9}}
            async with anyio.create_task_group() as group:  # at once: the second waits for the first
                answers: list[httpx.Response] = []

                async def send() -> None:
                    answers.append(await c.post("/v1/jobs", json=bad))

                for _ in range(3):
                    group.start_soon(send)
            assert [r.status_code for r in answers] == [400, 400, 400]
            good = {"template": {"remote_command": "true", "submit_as_hold": True}}
            first, again = await c.post("/v1/jobs", json=good), await c.post("/v1/jobs", json=good)
            assert first.json()["jobs"][0]["id"] == again.json()["jobs"][0]["id"]
            assert (await c.post(f"/v1/jobs/{first.json()['jobs'][0]['id']}/kill")).status_code == 200

    anyio.run(main)

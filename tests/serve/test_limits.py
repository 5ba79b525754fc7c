"""The server's limits, in process (no port): a slow client's body is cut off, and streams beyond the limit
are refused with a time to try again, not queued without end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx

from drmaa2cli.serve import tokens
from drmaa2cli.serve.state import Limits
from tests.serve.conftest import in_process


def _client(home: Path, limits: Limits) -> tuple[httpx.AsyncClient, str]:
    token = tokens.create(home)[1]
    return in_process(home, token, limits), token


def test_a_client_slower_than_the_limit_is_cut_off(tmp_path: Path) -> None:
    async def main() -> None:
        client, _ = _client(tmp_path / "home", Limits(body_seconds=0.2))

        async def trickle() -> AsyncIterator[bytes]:
            yield b'{"template": '
            await anyio.sleep(2)  # the slow client: the server must not wait for the rest
            yield b'{"remote_command": "true"}}'

        async with client:
            with anyio.fail_after(30):
                r = await client.post("/v1/jobs", content=trickle())
        assert r.status_code == 408 and r.json()["error"]["kind"] == "RequestTimeout"

    anyio.run(main)


def test_streams_beyond_the_limit_are_refused(tmp_path: Path) -> None:
    async def main() -> None:
        client, _ = _client(tmp_path / "home", Limits(streams=0, waits=0))
        async with client:
            body = {"template": {"remote_command": "true", "submit_as_hold": True}}
            held = await client.post("/v1/jobs", json=body)
            job_id = held.json()["jobs"][0]["id"]
            follow = await client.get(f"/v1/jobs/{job_id}/logs", params={"follow": "true"})
            assert follow.status_code == 503 and follow.headers["Retry-After"] == "1"
            wait = await client.get(f"/v1/jobs/{job_id}/wait", params={"timeout": "5"})
            assert wait.status_code == 503
            assert (await client.get(f"/v1/jobs/{job_id}/logs")).status_code == 200  # a range is no stream
            assert (await client.post(f"/v1/jobs/{job_id}/kill")).status_code == 200
            with anyio.fail_after(60):  # an ended job is answered at once, without a long-poll
                while (wait := await client.get(f"/v1/jobs/{job_id}/wait")).status_code != 200:
                    await anyio.sleep(0.05)
            assert wait.json()["ended"] and wait.json()["jobs"][0]["state"] == "failed"

    anyio.run(main)

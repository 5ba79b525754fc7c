"""64 clients submitting and waiting at once through one server: every job accepted once (0 lost, 0
duplicates), every wait answered with the job's end, by long-polls that hold no thread each."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from drmaa2cli.backends.remote.client import Client
from tests.serve.conftest import Server

CLIENTS = 64


def test_64_clients_submit_and_wait_at_once(server: Server) -> None:
    def one(n: int) -> tuple[str, str, int | None]:
        client = Client(server.url, server.token)
        try:
            body = {"template": {"remote_command": "true", "job_name": f"c{n}"}, "session": "load"}
            job_id = client.submit(body)["jobs"][0]["id"]
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                found = client.wait(job_id, 30)
                if found["ended"]:
                    job = found["jobs"][0]
                    return job_id, job["state"], job["exit_code"]
            raise AssertionError(f"job {job_id} did not end within 300 s")
        finally:
            client.close()

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one, range(CLIENTS)))
    took = time.monotonic() - started
    ids = [job_id for job_id, _, _ in results]
    assert len(set(ids)) == CLIENTS  # no two clients got one job
    assert all((state, code) == ("done", 0) for _, state, code in results), results
    client = Client(server.url, server.token)
    listed = client.get("/v1/jobs", session="load", limit=0)["jobs"]
    client.close()
    assert sorted(j["id"] for j in listed) == sorted(ids)  # none lost, none made twice
    assert sorted(j["name"] for j in listed) == sorted(f"c{n}" for n in range(CLIENTS))
    print(f"{CLIENTS} clients: {CLIENTS / took:.1f} jobs/s submitted and waited for")

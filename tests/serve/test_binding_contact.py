"""The Python binding reaches a `drmaa2 serve` server by its address as the contact, ``drmaa2+URL`` (a plain
``http(s)://`` stays a Docker engine's): the session's jobs run on the server, recorded in this home with the
remote backend, and its sessions open again on the same server."""

from __future__ import annotations

from pathlib import Path

import drmaa2
import pytest

from drmaa2cli.backends.remote.client import Client
from drmaa2cli.binding import convert
from drmaa2cli.errors import InvalidArgument
from tests.serve.conftest import Server


def test_a_drmaa2_url_as_the_contact_runs_jobs_on_that_server(server: Server, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRMAA2_REMOTE", raising=False)
    monkeypatch.setenv("DRMAA2_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DRMAA2_REMOTE_TOKEN", server.token)
    contact = f"drmaa2+{server.url}"
    session = drmaa2.create_job_session("on-server", contact)
    job = session.run_job(drmaa2.JobTemplate(remote_command="sh", args=["-c", "exit 3"]))
    job.wait_terminated(120)
    info = job.get_info()
    assert info.exit_status == 3
    again = drmaa2.open_job_session("on-server")
    assert again.contact == contact and [j.job_id for j in again.get_jobs()] == [job.job_id]
    remote_id = session.service.jobs([job.job_id])[0].backend_data["remote_id"]
    client = Client(server.url, server.token)
    try:  # the job ran there, as that server's own job
        assert client.get(f"/v1/jobs/{remote_id}")["jobs"][0]["exit_code"] == 3
    finally:
        client.close()
    drmaa2.destroy_session("on-server")


def test_contacts_of_a_server_and_of_a_docker_engine_are_told_apart() -> None:
    assert convert.backend_of("drmaa2+https://build:8765", {}) == ("remote", {})
    assert convert.server_of("drmaa2+unix:/run/d.sock") == "unix:/run/d.sock"
    assert convert.backend_of("https://build:2376", {})[0] == "docker"
    for bad in ("drmaa2+ftp://x", "drmaa2+http://u:secret@host:1"):
        with pytest.raises(InvalidArgument, match="drmaa2 server is drmaa2"):
            convert.backend_of(bad, {})

"""`drmaa2 serve` as its users and attackers meet it: the CLI through it with exit codes as locally, no
local record; tokens (none, wrong, expired, read-only), huge bodies, paths that try to leave the job's output,
an idempotent submit, and the OpenAPI document against the handlers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from drmaa2cli.serve import tokens
from drmaa2cli.serve.app import create_app
from tests.serve.conftest import Server, start, stop


def cli(server: Server, home: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drmaa2cli", *args], env=server.env(home, token),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def http(server: Server, token: str | None) -> httpx.Client:
    """A client sending ``token`` (``"Basic ..."`` as it is: another scheme)."""
    headers = {} if token is None else {
        "Authorization": token if token.startswith("Basic ") else f"Bearer {token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def test_a_command_through_the_server_exits_as_locally_and_keeps_no_local_record(server: Server,
                                                                                tmp_path: Path) -> None:
    client_home = tmp_path / "client"
    r = cli(server, client_home, "submit", "--wait", "--", "sh", "-c", "echo out; exit 3")
    assert r.returncode == 3, r.stderr
    job_id = r.stdout.split()[-1]
    assert cli(server, client_home, "wait", job_id).returncode == 3
    logs = cli(server, client_home, "logs", job_id)
    assert (logs.returncode, logs.stdout) == (0, "out\n")
    status = json.loads(cli(server, client_home, "status", "--json", job_id).stdout)["jobs"][0]
    assert (status["state"], status["exit_code"], status["backend"]) == ("failed", 3, "process")
    assert cli(server, client_home, "wait", "999999").returncode == 202
    assert cli(server, client_home, "kill", job_id).returncode == 205
    assert not client_home.exists()  # nothing recorded here: the job is the server's


def test_tokens_none_wrong_expired_and_read_only(server: Server) -> None:
    _, expired = tokens.create(server.home, expires_in=0.0)
    body = {"template": {"remote_command": "true"}}
    for token in (None, "drmaa2_wrong", expired, server.token + "x", "Basic " + server.token):
        with http(server, token) as c:
            r = c.get("/v1/jobs")
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
            assert r.json()["error"]["message"] == "a valid bearer token is needed"  # the same, whatever it was
    with http(server, server.read_only) as c:
        assert c.get("/v1/jobs").status_code == 200
        assert c.post("/v1/jobs", json=body).status_code == 403
        assert c.post("/v1/jobs/1/kill", json={}).status_code == 403
    info = os.stat(server.home / tokens.TOKENS_FILE)
    assert stat.S_IMODE(info.st_mode) == 0o600
    kept = (server.home / tokens.TOKENS_FILE).read_text()
    assert server.token not in kept and server.read_only not in kept


def test_read_only_token_through_the_cli_is_denied_with_its_exit_code(server: Server, tmp_path: Path) -> None:
    r = cli(server, tmp_path / "c", "submit", "--", "true", token=server.read_only)
    assert r.returncode == 208 and r.stderr.count("\n") == 1 and server.read_only not in r.stderr
    assert cli(server, tmp_path / "c", "status", "--all", token=server.read_only).returncode == 0


def test_a_huge_body_is_refused(server: Server) -> None:
    big = {"template": {"remote_command": "true", "args": ["x" * (2 << 20)]}}
    with http(server, server.token) as c:
        assert c.post("/v1/jobs", json=big).status_code == 413

        def chunks():  # no Content-Length: counted as it comes
            for _ in range(64):
                yield b" " * 65536
            yield b"{}"

        assert c.post("/v1/jobs", content=chunks()).status_code == 413


@pytest.mark.parametrize("path", ["/v1/jobs/..%2F..%2Fetc%2Fpasswd/logs", "/v1/jobs/../../etc/passwd/logs",
                                  "/v1/jobs/1%2F..%2F..%2Fjobs.json/logs", "/v1/jobs/%2Fetc%2Fpasswd/logs"])
def test_log_paths_cannot_leave_the_jobs_output(server: Server, path: str) -> None:
    with http(server, server.token) as c:
        r = c.get(path)
        assert r.status_code in (400, 404) and b"root:" not in r.content


def test_a_log_stream_name_cannot_name_a_file(server: Server) -> None:
    with http(server, server.token) as c:
        job = c.post("/v1/jobs", json={"template": {"remote_command": "true"}}).json()["jobs"][0]["id"]
        for stream in ("../../../../etc/passwd", "/etc/passwd", "out/../../jobs.json"):
            r = c.get(f"/v1/jobs/{job}/logs", params={"stream": stream})
            assert r.status_code == 400 and b"root:" not in r.content
        assert c.get(f"/v1/jobs/{job}/wait", params={"timeout": "60"}).json()["ended"]


def test_a_retried_submit_is_one_job(server: Server) -> None:
    body = {"template": {"remote_command": "true"}, "session": "idem"}
    with http(server, server.token) as c:
        first = c.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
        again = c.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
        other = c.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k-2"})
        assert first.status_code == again.status_code == other.status_code == 201
        ids = [r.json()["jobs"][0]["id"] for r in (first, again, other)]
        assert ids[0] == ids[1] != ids[2]
        listed = c.get("/v1/jobs", params={"session": "idem"}).json()["jobs"]
        assert sorted(j["id"] for j in listed) == sorted({ids[0], ids[2]})
        for job_id in set(ids):
            assert c.get(f"/v1/jobs/{job_id}/wait").json()["ended"]


def test_every_route_is_in_the_openapi_document_and_every_operation_has_a_route(server: Server) -> None:
    with http(server, server.token) as c:
        served = c.get("/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in served["paths"].items() for method in ops}
    app = create_app()
    starlette = app.app  # inside the token guard
    routed = {(method, route.path) for route in starlette.routes for method in route.methods - {"HEAD"}}
    assert documented == routed
    assert served["openapi"].startswith("3.")


def test_a_non_loopback_address_needs_tls_and_a_socket_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-m", "drmaa2cli", "serve", "--host", "0.0.0.0", "--port", "0"],
                       env={**os.environ, "DRMAA2_HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 201 and "--tls-cert" in r.stderr
    sock = tmp_path / "s.sock"
    proc, where = start(home, "--socket", str(sock))
    try:
        assert where == f"unix:{sock}" and stat.S_IMODE(sock.stat().st_mode) == 0o600
        token = tokens.create(home)[1]
        transport = httpx.HTTPTransport(uds=str(sock))
        with httpx.Client(transport=transport, base_url="http://drmaa2") as c:
            assert c.get("/v1/sessions").status_code == 401
            assert c.get("/v1/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            c.get("/v1/jobs", headers={"Authorization": "Bearer drmaa2_guess"})
    finally:
        stop(proc)
    assert not sock.exists()
    assert proc.stderr is not None
    said = proc.stderr.read().decode()
    assert token not in said and "drmaa2_guess" not in said  # never logged, never echoed


def test_submit_does_not_load_the_web_framework() -> None:
    code = ("import sys; from drmaa2cli.cli import app, quick; "
            "from drmaa2cli.commands import submitting, _service; print(' '.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert "drmaa2cli.commands.serve" in loaded  # registered with the app, its module light
    assert not {"starlette", "uvicorn", "anyio", "httpx", "drmaa2cli.serve.front", "drmaa2cli.serve.app"} & loaded


def test_a_job_script_s_text_is_read_as_submit_reads_a_script(server: Server) -> None:
    script = "#!/bin/sh\n#SBATCH --job-name=scripted\n#SBATCH --array=1-3\necho task $SLURM_ARRAY_TASK_ID\n"
    with http(server, server.token) as c:
        r = c.post("/v1/jobs", json={"script": script, "session": "scripts"})
        assert r.status_code == 201, r.text
        jobs = r.json()["jobs"]
        assert [j["name"] for j in jobs] == ["scripted"] * 3
        array = jobs[0]["id"].split(".")[0]
        assert c.get(f"/v1/jobs/{array}/wait").json()["ended"]
        assert c.get(f"/v1/jobs/{array}.2/logs").content == b"task 2\n"
        bad = c.post("/v1/jobs", json={"script": "#!/bin/sh\n#SBATCH --nodes=4\ntrue\n"})
        assert bad.status_code == 400 and bad.json()["error"]["exit_status"] == 201
        assert "--nodes=4" in bad.json()["error"]["message"]


def test_logs_follow_and_alter_through_the_cli(server: Server, tmp_path: Path) -> None:
    home = tmp_path / "c"
    job = cli(server, home, "submit", "--terse", "--", "sh", "-c",
              "echo a; sleep 0.5; echo b; exit 4").stdout.strip()
    followed = cli(server, home, "logs", "--follow", job)
    assert (followed.returncode, followed.stdout) == (4, "a\nb\n")
    held = cli(server, home, "submit", "--terse", "--hold", "--", "true").stdout.strip()
    assert cli(server, home, "alter", held, "--name", "renamed").returncode == 0
    assert json.loads(cli(server, home, "status", "--json", held).stdout)["jobs"][0]["name"] == "renamed"
    assert cli(server, home, "alter", job, "--name", "late").returncode == 205  # it ran already
    assert cli(server, home, "release", held).returncode == 0
    assert cli(server, home, "wait", held).returncode == 0


def test_the_token_file_of_the_config_must_be_private(server: Server, tmp_path: Path) -> None:
    home, token_file = tmp_path / "c", tmp_path / "token"
    home.mkdir()
    token_file.write_text(server.token + "\n")
    token_file.chmod(0o644)
    (home / "config.toml").write_text(f'[remote]\nurl = "{server.url}"\ntoken_file = "{token_file}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMAA2_")}
    run = [sys.executable, "-m", "drmaa2cli", "sessions"]
    r = subprocess.run(run, env={**env, "DRMAA2_HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 201 and "chmod 600" in r.stderr
    token_file.chmod(0o600)
    r = subprocess.run(run, env={**env, "DRMAA2_HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SESSION" in r.stdout, r.stderr

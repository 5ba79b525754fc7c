"""Logins: the cf CLI's config.json reused and renewed (written back as the cf CLI does), credentials from
the environment for CI, and tokens kept out of every message and record."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from drmaa2cli.errors import BackendUnavailable, DeniedByDrms, InvalidArgument
from drmaa2cli.models import JobState, JobTemplate
from tests.cf_standin import StandIn

from .fixtures import Harness, make_backend, write_cf_config


def token_requests(standin: StandIn) -> list[dict[str, list[str]]]:
    return [parse_qs(r.body) for r in standin.requests_to("POST", "/oauth/token$")]


def assert_no_token_in(text: str, standin: StandIn) -> None:
    for token in standin.world.issued:
        assert token not in text


def test_expired_token_is_renewed_ahead_and_written_back(
    tmp_path: Path, standin: StandIn, drmaa2_home: Path
) -> None:
    cf_home = tmp_path / "cf"
    doc = standin.cf_config(ttl=-5)  # expired five seconds ago
    path = write_cf_config(cf_home, doc)
    path.chmod(0o644)
    job = Harness(make_backend(drmaa2_home, {"CF_HOME": str(cf_home)})).submit("true")
    assert job.native_id
    assert [r.status for r in standin.requests if r.status == 401] == []  # renewed before, not after a 401
    (grant,) = token_requests(standin)
    assert grant["grant_type"] == ["refresh_token"] and grant["refresh_token"] == [doc["RefreshToken"]]
    (renewal,) = standin.requests_to("POST", "/oauth/token$")
    auth = next(v for k, v in renewal.headers.items() if k.lower() == "authorization")
    assert base64.b64decode(auth.split()[1]) == b"cf:"
    written = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert written["AccessToken"] != doc["AccessToken"] and written["AccessToken"].startswith("bearer ")
    standin.world.check_token(written["AccessToken"])  # the new one is valid
    assert {k: v for k, v in written.items() if k != "AccessToken"} == {
        k: v for k, v in doc.items() if k != "AccessToken"
    }
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json"]  # no temporary file left
    assert_no_token_in(json.dumps(job.to_record()), standin)


def test_token_expiring_within_a_minute_is_renewed(tmp_path: Path, standin: StandIn, drmaa2_home: Path) -> None:
    cf_home = tmp_path / "cf"
    write_cf_config(cf_home, standin.cf_config(ttl=30))
    Harness(make_backend(drmaa2_home, {"CF_HOME": str(cf_home)})).submit("true")
    assert len(token_requests(standin)) == 1


def test_refused_token_is_renewed_once_after_a_401(harness: Harness, standin: StandIn) -> None:
    standin.world.revoke_access_tokens()  # still unexpired by its claims, but refused
    job = harness.wait(harness.submit("sh", "-c", "exit 4"))
    assert job.exit_status == 4
    refused = [r for r in standin.requests if r.status == 401]
    assert len(refused) == 1 and len(token_requests(standin)) == 1
    assert len(standin.requests_to("POST", "/tasks$")) == 1


def test_401_after_renewal_is_denied(harness: Harness, standin: StandIn) -> None:
    standin.world.reject_all_tokens = True
    with pytest.raises(DeniedByDrms, match="run `cf login` again") as err:
        harness.submit("true")
    assert "CF-InvalidAuthToken" in str(err.value) and "X-Vcap-Request-Id" in str(err.value)
    assert_no_token_in(str(err.value), standin)
    assert standin.requests_to("POST", "/tasks$") == []


def test_refused_refresh_token_is_denied_without_quoting_it(
    tmp_path: Path, standin: StandIn, drmaa2_home: Path
) -> None:
    cf_home = tmp_path / "cf"
    doc = standin.cf_config(ttl=-5)
    standin.world.refresh_tokens.clear()  # UAA forgot it (revoked, expired)
    write_cf_config(cf_home, doc)
    with pytest.raises(DeniedByDrms, match="login refused by UAA") as err:
        Harness(make_backend(drmaa2_home, {"CF_HOME": str(cf_home)})).submit("true")
    assert doc["RefreshToken"] not in str(err.value) and "***" in str(err.value)
    assert json.loads((cf_home / ".cf" / "config.json").read_text()) == doc


def test_token_renewed_by_another_process_is_adopted(tmp_path: Path, standin: StandIn, drmaa2_home: Path) -> None:
    cf_home = tmp_path / "cf"
    write_cf_config(cf_home, standin.cf_config(ttl=-5))
    backend = make_backend(drmaa2_home, {"CF_HOME": str(cf_home)})
    backend.client()  # login read, token expired
    write_cf_config(cf_home, standin.cf_config())  # `cf` renewed it meanwhile
    before = len(token_requests(standin))
    Harness(backend).submit("true")
    assert len(token_requests(standin)) == before


def test_no_login_is_denied(tmp_path: Path, drmaa2_home: Path) -> None:
    with pytest.raises(DeniedByDrms, match=r"not logged in to Cloud Foundry.*cf login"):
        Harness(make_backend(drmaa2_home, {"CF_HOME": str(tmp_path)})).submit("true")


def test_cf_space_overrides_the_targeted_space(cf_home: Path, standin: StandIn, drmaa2_home: Path) -> None:
    backend = make_backend(drmaa2_home, {"CF_HOME": str(cf_home), "CF_SPACE": "prod"})
    job = Harness(backend).submit("true")
    assert standin.world.tasks[job.native_id or ""].app is standin.world.find_app("worker", "prod")


def env_login(standin: StandIn, home: Path, **extra: str) -> dict[str, str]:
    return {"CF_HOME": str(home), "CF_API": standin.url, "CF_ORG": "org", "CF_SPACE": "dev", **extra}


def test_environment_password_login(tmp_path: Path, standin: StandIn, drmaa2_home: Path) -> None:
    environ = env_login(standin, tmp_path, CF_USERNAME="user", CF_PASSWORD="pass")
    backend = make_backend(drmaa2_home, environ)
    job = Harness(backend).wait(Harness(backend).submit("sh", "-c", "echo hi; exit 5"))
    assert job.exit_status == 5 and backend.output(job, "out") == b"hi\n"
    assert token_requests(standin)[0]["grant_type"] == ["password"]
    assert standin.requests_to("GET", "^/$")  # endpoints discovered from the API root
    assert not (tmp_path / ".cf").exists()  # nothing written for an environment login


def test_environment_client_credentials(tmp_path: Path, standin: StandIn, drmaa2_home: Path) -> None:
    environ = env_login(standin, tmp_path, CF_CLIENT_ID="ci-client", CF_CLIENT_SECRET="ci-secret")
    job = Harness(make_backend(drmaa2_home, environ)).submit("true")
    assert job.state in (JobState.RUNNING, JobState.DONE)
    (grant,) = token_requests(standin)
    assert grant["grant_type"] == ["client_credentials"] and grant["client_id"] == ["ci-client"]
    # Client-credentials tokens have no refresh token: an expired one is fetched again.
    standin.world.revoke_access_tokens()
    backend = make_backend(drmaa2_home, environ)
    assert Harness(backend).wait(Harness(backend).submit("true")).state is JobState.DONE


def test_environment_wrong_secret_is_denied_without_quoting_it(
    tmp_path: Path, standin: StandIn, drmaa2_home: Path
) -> None:
    environ = env_login(standin, tmp_path, CF_CLIENT_ID="ci-client", CF_CLIENT_SECRET="wrong-secret")
    with pytest.raises(DeniedByDrms, match="login refused by UAA") as err:
        make_backend(drmaa2_home, environ).prepare(_template())
    assert "wrong-secret" not in str(err.value)


def test_environment_without_credentials_or_space(tmp_path: Path, standin: StandIn, drmaa2_home: Path) -> None:
    with pytest.raises(DeniedByDrms, match="CF_USERNAME and CF_PASSWORD"):
        make_backend(drmaa2_home, env_login(standin, tmp_path)).prepare(_template())
    environ = {"CF_API": standin.url, "CF_USERNAME": "user", "CF_PASSWORD": "pass"}
    with pytest.raises(InvalidArgument, match="CF_ORG and CF_SPACE"):
        make_backend(drmaa2_home, environ).prepare(_template())
    with pytest.raises(InvalidArgument, match="no space named 'qa'"):
        make_backend(drmaa2_home, {**environ, "CF_ORG": "org", "CF_SPACE": "qa"}).prepare(_template())


def _template() -> JobTemplate:
    return JobTemplate(remote_command="true", job_category="worker")


def test_refused_login_leaves_status_as_last_known(harness: Harness, standin: StandIn) -> None:
    # `drmaa2 status` lists every backend's jobs: a lapsed cf login must not make it fail as a whole.
    job = harness.submit("true")
    standin.world.reject_all_tokens = True
    with pytest.raises(BackendUnavailable, match="run `cf login` again"):
        harness.backend.refresh([job])

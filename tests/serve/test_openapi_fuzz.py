"""schemathesis fuzzes every operation of the served ``/openapi.json`` in process (derandomised, a bounded
number of examples each): no answer is a 500, and every answer (its status, content type and body) is one the
document declares.

Nothing the fuzzer submits can run: every template it sends is made held, and each job a submit made is
removed (killed first) before the next example, so a fuzzed ``release`` or ``requeue`` finds no job of it to
start. ``GET /v1/events`` is a stream that never ends: its own tests read it (tests/dashboard/test_events.py).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from drmaa2cli import config
from drmaa2cli.serve import tokens
from drmaa2cli.serve.app import create_app

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


# Made at collection: schemathesis makes its cases from a schema it has then (its fixture-made schemas do not
# work with this pytest); the home is removed when the module's tests are done.
_AREA = Path(tempfile.mkdtemp(prefix="drmaa2-fuzz-"))
_TOKEN = tokens.create(_AREA / "home")[1]
_BEARER = {"Authorization": f"Bearer {_TOKEN}"}
_APP = create_app(config.resolve(environ={"DRMAA2_HOME": str(_AREA / "home")}))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP, headers=_BEARER).exclude(path="/v1/events")


@pytest.fixture(scope="module", autouse=True)
def _area() -> Iterator[None]:
    """After the fuzzing: no job of it is left (each was removed as it came), then the home goes."""
    yield
    client = schemathesis.python.asgi.get_client(_APP)
    left = client.get("/v1/jobs", params={"limit": "0"}, headers=_BEARER).json()["jobs"]
    for job in left:
        client.delete(f"/v1/jobs/{job['id']}", params={"force": "true"}, headers=_BEARER)
    shutil.rmtree(_AREA, ignore_errors=True)
    assert left == []
    if "POST /v1/jobs" in _FUZZED:  # the document lets the fuzzer make jobs, and each was held
        assert _SUBMITTED and set(_SUBMITTED) == {"queued_held"}, _SUBMITTED


#: Fields that reach outside the job even while it is held or killed (files made or checked at submit, mail
#: sent when it ends): the fuzzer's values for them are dropped.
_OUTSIDE = ("working_directory", "input_path", "output_path", "error_path", "stage_in_files", "stage_out_files",
            "email", "mail_types")


#: The states of the jobs the fuzzer's submits made (each removed at once), and whether submit was fuzzed.
_SUBMITTED: list[str] = []
_FUZZED: set[str] = set()


def _held(case: Any) -> None:
    """Whatever template the fuzzer made, it is submitted held (it is removed before anything releases it)."""
    if isinstance(case.body, dict) and isinstance(case.body.get("template"), dict):
        template = case.body["template"]
        for name in _OUTSIDE:
            template.pop(name, None)
        template["submit_as_hold"] = True


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any) -> None:
    _held(case)
    _FUZZED.add(f"{case.method} {case.path}")
    response = case.call_and_validate(headers=_BEARER, checks=CHECKS)
    if case.method == "POST" and case.path == "/v1/jobs" and response.status_code == 201:
        client = schemathesis.python.asgi.get_client(_APP)
        for job in response.json()["jobs"]:
            removed = client.delete(f"/v1/jobs/{job['id']}", params={"force": "true"}, headers=_BEARER)
            assert removed.status_code == 200, removed.text
            _SUBMITTED.append(job["state"])

"""The kubernetes backend's pure parts, without a cluster: kubeconfig resolution, the Job manifest, and the
mapping of a pod's terminated state to a result."""

from __future__ import annotations

import base64
import ssl
import subprocess
from pathlib import Path

import pytest

from drmaa2cli.backends.kubernetes.api import job_output
from drmaa2cli.backends.kubernetes.config import ConfigError, load
from drmaa2cli.backends.kubernetes.result import pull_failure, result_of
from drmaa2cli.backends.kubernetes.spec import escape, manifest, object_name, spec_from_template
from drmaa2cli.errors import InvalidArgument, UnsupportedAttribute
from drmaa2cli.models import JobInfo, JobTemplate

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://10.0.0.1:6443/", insecure-skip-tls-verify: true}}
users:
- name: u
  user: {user}
contexts:
- name: x
  context: {{cluster: c, user: u, namespace: batch}}
current-context: {current}
"""


def write(path: Path, user: str = "{token: s3cret}", current: str = "x") -> Path:
    path.write_text(KUBECONFIG.format(user=user, current=current))
    return path


def test_kubeconfig_current_context_token_and_namespace(tmp_path: Path) -> None:
    cluster = load({"KUBECONFIG": str(write(tmp_path / "a"))})
    assert (cluster.server, cluster.token, cluster.namespace) == ("https://10.0.0.1:6443", "s3cret", "batch")
    assert isinstance(cluster.tls, ssl.SSLContext) and cluster.tls.verify_mode == ssl.CERT_NONE
    assert "s3cret" not in repr(cluster)


def test_kubeconfig_files_merge_first_wins_and_token_file_is_relative(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("from-file\n")
    first = tmp_path / "first"
    first.write_text("current-context: x\n")
    second = write(tmp_path / "second", user="{tokenFile: tok}", current="other")
    cluster = load({"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"})
    assert cluster.token == "from-file"


def test_home_kubeconfig_and_its_absence(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    with pytest.raises(ConfigError, match="no Kubernetes cluster configured"):
        load({"HOME": str(tmp_path)})
    write(tmp_path / ".kube" / "config")
    assert load({"HOME": str(tmp_path)}).namespace == "batch"


@pytest.mark.parametrize(("user", "message"), [
    ("{exec: {command: aws}}", "authenticates through 'exec'"),
    ("{client-certificate-data: bm90IGEgY2VydA==, client-key-data: bm8=}", "cannot load the user's client"),
])
def test_kubeconfig_users_drmaa2_cannot_use_are_refused(tmp_path: Path, user: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load({"KUBECONFIG": str(write(tmp_path / "a", user=user))})


def test_a_client_certificate_given_as_data_loads(tmp_path: Path) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t",
                    "-keyout", str(tmp_path / "k"), "-out", str(tmp_path / "c")], check=True, capture_output=True)
    data = {n: base64.b64encode((tmp_path / n).read_bytes()).decode() for n in ("k", "c")}
    user = f"{{client-certificate-data: {data['c']}, client-key-data: {data['k']}}}"
    assert load({"KUBECONFIG": str(write(tmp_path / "a", user=user))}).token is None


def job(template: JobTemplate, job_id: str = "7.2") -> JobInfo:
    return JobInfo(id=job_id, session="s e", backend="kubernetes", template=template)


def test_manifest_maps_the_template() -> None:
    t = JobTemplate(remote_command="sh", args=["-c", "echo $(HOME) $$"], job_category="img:1", queue_name="q",
                    job_environment={"A": "$(B)"}, working_directory="/w", timeout=2.5, job_name="n!",
                    resource_limits={"memory_mb": 64, "cpus": 0.5},
                    extension={"native": ["node=n1", "selector=a=b"]})
    spec = spec_from_template(t, "default")
    body = manifest(spec, job(t), object_name("Inst", "7.2"), "Inst")
    assert body["metadata"]["name"] == "drmaa2-inst-7-2"
    pod = body["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["args"] == ["sh", "-c", "echo $$(HOME) $$$$"]
    assert {"name": "A", "value": "$$(B)"} in c["env"] and {"name": "DRMAA2_TASK_ID", "value": "2"} in c["env"]
    assert c["resources"]["limits"] == c["resources"]["requests"] == {"memory": "64Mi", "cpu": "500m"}
    assert (body["spec"]["activeDeadlineSeconds"], pod["nodeName"], pod["nodeSelector"]) == (3, "n1", {"a": "b"})
    assert body["spec"]["template"]["metadata"]["finalizers"] == ["drmaa2/result"]
    assert body["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never" and pod["shareProcessNamespace"]
    assert body["metadata"]["labels"]["drmaa2/session"] == "s_e" and spec.namespace == "q"
    assert escape("a$") == "a$$"


@pytest.mark.parametrize(("fields", "error"), [
    ({}, InvalidArgument),
    ({"job_category": "i", "error_path": "/e"}, UnsupportedAttribute),
    ({"job_category": "i", "queue_name": "Not_A_Namespace"}, InvalidArgument),
    ({"job_category": "i", "resource_limits": {"disk_mb": 1}}, UnsupportedAttribute),
    ({"job_category": "i", "extension": {"native": ["gpu=1"]}}, InvalidArgument),
    ({"job_category": "i", "stage_in_files": {"rel": "/x"}}, InvalidArgument),
])
def test_templates_a_pod_cannot_run_are_refused(fields: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        spec_from_template(JobTemplate(remote_command="true", **fields), "default")  # type: ignore[arg-type]


def pod(terminated: dict[str, object], **status: object) -> dict[str, object]:
    state = {"terminated": {"startedAt": "2026-11-29T10:00:00Z", "finishedAt": "2026-11-29T10:00:02Z",
                            **terminated}}
    limits = {"limits": {"memory": "32Mi"}}
    return {"spec": {"nodeName": "n1", "containers": [{"name": "job", "resources": limits}]},
            "status": {"phase": "Failed", **status, "containerStatuses": [{"name": "job", "state": state}]}}


@pytest.mark.parametrize(("terminated", "status", "sent", "expected"), [
    ({"exitCode": 0, "reason": "Completed"}, {}, None, ("done", 0, None, None)),
    ({"exitCode": 3, "reason": "Error"}, {}, None, ("failed", 3, None, "exited with status 3")),
    ({"exitCode": 143, "reason": "Error"}, {}, None, ("failed", None, 15, "killed by signal 15 (SIGTERM)")),
    ({"exitCode": 137, "reason": "OOMKilled"}, {}, None, ("failed", None, 9, "OOM killed (memory limit 32Mi)")),
    ({"exitCode": 128, "reason": "StartError", "message": 'exec: "x": executable file not found in $PATH'}, {},
     None, ("failed", 127, None, "exited with status 127 (command not found)")),
    ({"exitCode": 143, "reason": "Error"}, {"reason": "DeadlineExceeded"}, None,
     ("failed", None, 15, "timed out after 3s")),
    ({"exitCode": 137, "reason": "Error"}, {}, 9, ("failed", None, 9, "killed by drmaa2 kill (SIGKILL)")),
    ({"exitCode": 137, "reason": "Error"}, {"reason": "DeadlineExceeded"}, "stop",
     ("failed", None, 9, "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)")),
    ({"exitCode": 143, "reason": "Error"}, {"reason": "DeadlineExceeded"}, "stop",
     ("failed", None, 15, "killed by drmaa2 kill (SIGTERM)")),
])
def test_results_from_terminated_states(terminated: dict[str, object], status: dict[str, object],
                                        sent: str | None, expected: tuple[object, ...]) -> None:
    r = result_of(job(JobTemplate(remote_command="x", timeout=3)), pod(terminated, **status), sent)
    assert (r["state"], r["exit_status"], r["signal"], r.get("annotation")) == expected
    assert r["finish_time"] - (r["dispatch_time"] or r["finish_time"] - 2) == 2


def test_a_job_without_a_pod_never_started() -> None:
    r = result_of(job(JobTemplate(remote_command="x")), None, "stop")
    assert (r["state"], r["annotation"]) == ("failed", "killed by drmaa2 kill before it started")


@pytest.mark.parametrize(("status", "error"), [
    (401, "DeniedByDrms"), (403, "DeniedByDrms"), (404, "Missing"), (409, "Conflict"), (422, "InvalidArgument"),
    (500, "BackendUnavailable"), (429, "BackendUnavailable"),
])
def test_api_answers_become_drmaa2_errors(status: int, error: str) -> None:
    import httpx

    from drmaa2cli.backends.kubernetes.api import Api
    from drmaa2cli.backends.kubernetes.config import Cluster

    api = Api(Cluster("https://127.0.0.1:1", False, "s3cret", "default", "test"))
    body = {"kind": "Status", "message": "jobs.batch \"x\"\n is bad"}
    api._http = httpx.Client(base_url="https://k", transport=httpx.MockTransport(
        lambda request: httpx.Response(status, json=body)))
    with pytest.raises(Exception) as caught:
        api.create_job("default", {})
    assert type(caught.value).__name__ == error
    assert str(caught.value) == 'Kubernetes API: jobs.batch "x" is bad'


def test_an_unreachable_server_is_named_without_the_token() -> None:
    from drmaa2cli.backends.kubernetes.api import Api
    from drmaa2cli.backends.kubernetes.config import Cluster
    from drmaa2cli.errors import BackendUnavailable

    api = Api(Cluster("https://127.0.0.1:1", False, "s3cret", "default", "test"))
    with pytest.raises(BackendUnavailable) as caught:
        api.namespace("default")
    assert "127.0.0.1:1" in str(caught.value) and "s3cret" not in str(caught.value)


@pytest.mark.parametrize(("sent", "after", "expected"), [
    ("stop", 0.4, (15, "killed by drmaa2 kill (SIGTERM)")),
    ("stop", 5.2, (9, "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)")),
    (9, 0.1, (9, "killed by drmaa2 kill (SIGKILL)")),
])
def test_a_killed_container_whose_status_the_kubelet_lost(sent: object, after: float,
                                                          expected: tuple[object, ...]) -> None:
    running = {"status": {"phase": "Failed", "containerStatuses": [
        {"name": "job", "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    t = job(JobTemplate(remote_command="x")).evolve(dispatch_time=1.0)
    r = result_of(t, running, sent, stopped_after=after)  # type: ignore[arg-type]
    assert (r["signal"], r["annotation"]) == expected and r["dispatch_time"] == 1.0


STREAM_ERROR = b'rpc error: code = NotFound desc = an error occurred when try to find container "3f1c": not found'


@pytest.mark.parametrize(("chunks", "saved"), [
    ([b"got-", b"term\n", STREAM_ERROR], b"got-term\n"),
    ([STREAM_ERROR[:20], STREAM_ERROR[20:]], b""),
    ([b"no newline", STREAM_ERROR], b"no newline"),
    ([b"x" * 10000, b"\n", STREAM_ERROR], b"x" * 10000 + b"\n"),
    ([b"rpc error: code = Mine desc = a job's own words\n"], b"rpc error: code = Mine desc = a job's own words\n"),
    ([b"\x00\xff" * 5000], b"\x00\xff" * 5000),
])
def test_a_killed_pods_log_keeps_the_jobs_output_only(chunks: list[bytes], saved: bytes) -> None:
    assert b"".join(job_output(chunks)) == saved


@pytest.mark.parametrize(("reason", "message", "why"), [
    ("ErrImagePull", 'rpc error: code = Unknown desc = failed to pull image "x/y:1"',
     'cannot pull image x/y:1: ErrImagePull (rpc error: code = Unknown desc = failed to pull image "x/y:1")'),
    ("ImagePullBackOff", None, "cannot pull image x/y:1: ImagePullBackOff"),
    ("InvalidImageName", "invalid\n reference", "cannot pull image x/y:1: InvalidImageName (invalid reference)"),
    ("ContainerCreating", None, None),
    ("CreateContainerConfigError", "configmap missing", None),  # someone can still make it: it waits
])
def test_a_pod_whose_image_cannot_be_pulled(reason: str, message: str | None, why: str | None) -> None:
    waiting = {"reason": reason, **({"message": message} if message else {})}
    statuses = [{"name": "job", "state": {"waiting": waiting}}]
    pending = {"spec": {"containers": [{"name": "job", "image": "x/y:1"}]},
               "status": {"phase": "Pending", "containerStatuses": statuses}}
    assert pull_failure(pending) == why

"""The kubernetes backend on a real cluster (tests/infra/kubernetes.sh): what the shared suite does not cover —
the Job it creates (resources, deadline, labels, namespace), `kill --signal KILL`, credentials from a token
kubeconfig kept out of records and messages, and an API server restarted during a `wait`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.procfs import proc_state
from tests.conftest import Cli, gate, until
from tests.kubernetes.fixtures import IMAGE, SCRIPT, cluster_script, kubectl

STATE = Path(os.environ.get("DRMAA2_TEST_STATE", "/var/lib/drmaa2-test")) / "kubernetes"


@pytest.fixture
def k8s(cli: Cli, kubernetes_env: dict[str, str]) -> Cli:
    cli.env.update(kubernetes_env)
    return cli


def opts(*more: str) -> list[str]:
    return ["--backend", "kubernetes", "--image", IMAGE, *more]


def job_object(env: dict[str, str], namespace: str, job_id: str) -> dict[str, Any]:
    r = kubectl(env, "get", "jobs", "-n", namespace, "-l", f"drmaa2/job={job_id}", "-o", "json")
    assert r.returncode == 0, r.stderr
    items: list[dict[str, Any]] = json.loads(r.stdout)["items"]
    assert len(items) == 1, items
    return items[0]


def test_submit_wait_exits_with_the_job_s_status(k8s: Cli) -> None:
    r = k8s("submit", *opts("--wait"), "--", "sh", "-c", "exit 3", timeout=180)
    assert r.code == 3, r.err


def test_the_job_object_carries_the_template(k8s: Cli, kubernetes_env: dict[str, str], tmp_path: Path) -> None:
    ns = f"drmaa2-test-{os.getpid()}"
    assert kubectl(kubernetes_env, "create", "namespace", ns).returncode == 0
    try:
        go = tmp_path / "go"
        job = k8s.submit("sh", "-c", gate(go) + '; echo "$GREETING" "$(pwd)"', options=[
            *opts("--queue", ns, "--memory", "64m", "--cpus", "0.25", "--timeout", "300", "--name", "my job",
                  "--env", "GREETING=$(HOME) $$ costs", "--cwd", "/tmp", "--mount", f"{tmp_path}:{tmp_path}")])
        obj = job_object(kubernetes_env, ns, job)
        pod = obj["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["resources"] == {"requests": {"memory": "64Mi", "cpu": "250m"},
                                          "limits": {"memory": "64Mi", "cpu": "250m"}}
        assert obj["spec"]["activeDeadlineSeconds"] == 300 and pod["restartPolicy"] == "Never"
        assert obj["metadata"]["labels"]["drmaa2/name"] == "my_job"
        assert obj["metadata"]["annotations"]["drmaa2/name"] == "my job"
        assert "GREETING" in obj["metadata"]["annotations"]["drmaa2/template"]
        assert "costs" not in json.dumps(obj["metadata"])  # environment values are not shown in metadata
        assert k8s.info(job)["native_id"] == f"{ns}/{obj['metadata']['name']}"
        go.touch()
        assert k8s("wait", "--timeout", "120", job, timeout=180).code == 0
        # $(HOME) and $$ reach the job as given, not expanded by Kubernetes.
        assert k8s("logs", job).out == "$(HOME) $$ costs /tmp\n"
        # Ended and kept: the Job is gone, the output stays.
        until(lambda: kubectl(kubernetes_env, "get", "jobs", "-n", ns, "-o", "name").stdout == "",
              "the finished Job was deleted")
        assert k8s("logs", job).out == "$(HOME) $$ costs /tmp\n"
    finally:
        kubectl(kubernetes_env, "delete", "namespace", ns, "--wait=false")


def test_unknown_namespace_and_bad_input_are_refused_in_one_line(k8s: Cli) -> None:
    r = k8s("submit", *opts("--queue", "drmaa2-no-such-namespace"), "--", "true")
    assert r.code == 201 and r.err.strip().count("\n") == 0 and "does not exist" in r.err, r.err
    r = k8s("submit", *opts("--error", "/tmp/e"), "--", "true")
    assert r.code == 201 and "one log" in r.err, r.err
    r = k8s("submit", "--backend", "kubernetes", "--", "true")
    assert r.code == 201 and "--image" in r.err, r.err
    assert k8s("status", "--all", "--json").json()["jobs"] == []


def test_kill_with_sigkill_keeps_the_output(k8s: Cli, tmp_path: Path) -> None:
    job = k8s.submit("sh", "-c", "echo started; trap '' TERM; sleep 300", options=opts())
    until(lambda: k8s("logs", job).out == "started\n", "the job printed", timeout=120, interval=0.2)
    assert k8s("kill", "--signal", "KILL", job).code == 0
    assert k8s("wait", "--timeout", "60", job).code == 137
    info = k8s.info(job)
    assert (info["state"], info["signal"]) == ("failed", 9)
    assert info["annotation"] == "killed by drmaa2 kill (SIGKILL)"
    assert k8s("logs", job).out == "started\n"
    r = k8s("kill", "--signal", "HUP", k8s.submit("sleep", "300", options=opts()))
    assert r.code == 204 and "SIGTERM" in r.err, r.err


def test_token_credentials_never_reach_records_or_messages(cli: Cli, kubernetes_env: dict[str, str]) -> None:
    admin = STATE / "admin.kubeconfig"  # the token user (the default kubeconfig uses a client certificate)
    token = (STATE / "pki" / "tokens.csv").read_text().split(",")[0]
    env = {"KUBECONFIG": str(admin)}
    r = cli("submit", *opts("--wait"), "--", "sh", "-c", "echo hi", env=env, timeout=180)
    assert r.code == 0, r.err
    stored = b"".join(p.read_bytes() for p in cli.home.rglob("*") if p.is_file())
    assert token.encode() not in stored
    key = (STATE / "pki" / "admin.key").read_text().splitlines()[1]
    assert key.encode() not in stored
    # A wrong token: one line, "denied", and the token is not in it.
    bad = cli.home.parent / "bad.kubeconfig"
    bad.write_text(admin.read_text().replace(token, "not-the-token"))
    r = cli("submit", *opts(), "--", "true", env={"KUBECONFIG": str(bad)})
    assert r.code == 208 and r.err.count("\n") == 1 and "not-the-token" not in r.err, r.err
    r = cli("submit", *opts(), "--", "true", env={"KUBECONFIG": str(cli.home.parent / "none")})
    assert r.code == 203 and "kubeconfig" in r.err, r.err


def test_api_server_restarted_during_wait_is_ridden_out(k8s: Cli, tmp_path: Path) -> None:
    go = tmp_path / "go"
    job = k8s.submit("sh", "-c", gate(go), options=[*opts(), "--mount", f"{tmp_path}:{tmp_path}"])
    k8s.until_state(job, "running")
    waiter = subprocess.Popen([sys.executable, "-m", "drmaa2cli", "wait", "--timeout", "300", job],
                              env=k8s.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = int((STATE / "run" / "kube-apiserver.pid").read_text())
        time.sleep(1)  # let the wait reach its watch (it rides out the outage whenever it starts)
        # SIGKILL, an API server that dies. On SIGTERM kube-apiserver stops listening at once, but in a CI run
        # its process lived on for about 60 s more (its graceful shutdown, waiting on open watches), and a
        # deadline of 60 s raced that shutdown instead of testing the outage.
        os.kill(pid, signal.SIGKILL)
        until(lambda: proc_state(pid) in (None, "Z"), "the API server stopped", timeout=30)
        go.touch()  # the job ends while the API server is down
        restart = cluster_script()
        assert restart.returncode == 0, restart.stderr
        _out, err = waiter.communicate(timeout=240)
        assert waiter.returncode == 0, err
        assert k8s.info(job)["state"] == "done"
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
        if SCRIPT.exists():
            cluster_script()  # the cluster stays up for the tests after this one


def host_state() -> dict[str, list[str]]:
    """What a cluster could leave on the host: iptables chains, mounts under its state, the pod bridge, its
    processes (by the pid files of its daemons)."""
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout
    mounts = Path("/proc/mounts").read_text().splitlines()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    return {
        "chains": sorted(line for line in rules.splitlines() if line.startswith(":") and "KUBE" in line),
        "mounts": sorted(m for m in mounts if f" {STATE}" in m),
        "bridge": [line for line in links.splitlines() if "k8scni0" in line],
        "daemons": sorted(p.name for p in (STATE / "run").glob("*.pid")),
    }


def test_stop_leaves_nothing_behind_and_start_comes_back(k8s: Cli, tmp_path: Path) -> None:
    # A pod running at the stop: its sandbox has a network namespace, mounts and an address on the bridge.
    k8s.submit("sh", "-c", gate(tmp_path / "never"), options=opts())
    until(lambda: host_state()["bridge"] != [], "the pod network came up", timeout=120, interval=0.2)
    stop = cluster_script("stop")
    assert stop.returncode == 0, stop.stderr
    assert host_state() == {"chains": [], "mounts": [], "bridge": [], "daemons": []}
    again = cluster_script()
    assert again.returncode == 0, again.stderr
    assert "KUBECONFIG=" in again.stdout
    assert k8s("submit", *opts("--wait"), "--", "sh", "-c", "exit 4", timeout=180).code == 4


def test_nodes_and_namespaces_for_a_monitoring_session(kubernetes_env: dict[str, str]) -> None:
    from drmaa2cli.backends.kubernetes.api import Api, namespaces, nodes
    from drmaa2cli.backends.kubernetes.config import load

    api = Api(load({**os.environ, **kubernetes_env}))
    # Right after a restart of the cluster (the test before) the node controller may still hold the node's
    # status from before the stop, NotReady, until the kubelet posts a fresh one: the listing shows what the
    # API says, so wait (bounded) for the kubelet's word.
    until(lambda: [n["ready"] for n in nodes(api)] == [True], "the node listed as ready",
          timeout=120, interval=0.5)
    found = nodes(api)
    assert [(n["name"], n["ready"]) for n in found] == [("localhost", True)]
    assert int(found[0]["capacity"]["pods"]) == 20  # maxPods of the test kubelet
    assert {"default", "kube-system"} <= set(namespaces(api))

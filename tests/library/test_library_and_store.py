"""The Python API without the CLI, and the store's compatibility and safety."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drmaa2cli import JobSession, JobState, JobTemplate
from drmaa2cli.errors import InvalidState, WaitTimeout
from tests.conftest import Cli

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-v1"


def test_store_of_schema_version_1_still_loads(cli: Cli) -> None:
    shutil.copytree(FIXTURE, cli.home)
    jobs = cli("status", "--all", "--limit", "0", "--json").json()["jobs"]
    assert len(jobs) == 38
    assert jobs[0]["name"] == "fixture-1" and jobs[0]["state"] == "failed" and jobs[0]["exit_status"] == 1
    assert [j["id"] for j in jobs if j["session"] == "other"] == ["35.1", "35.2", "35.3"]
    assert cli("wait", "3").code == 0
    new = cli.submit("true")
    assert int(new) == 37  # ids continue, never reused
    sessions = {s["name"]: sum(s["counts"].values()) for s in cli("sessions", "--json").json()["sessions"]}
    assert sessions == {"default": 36, "other": 3}


def test_session_api(home: Path) -> None:
    session = JobSession.open("api", environ={"DRMAA2_HOME": str(home)})
    job = session.run_job(JobTemplate(remote_command="sh", args=["-c", "exit 3"]))
    info = job.wait_terminated(timeout=30)
    assert info.state is JobState.FAILED and info.exit_status == 3 and info.session == "api"
    tasks = session.run_bulk_jobs(JobTemplate(remote_command="true"), 1, 4, max_parallel=2)
    assert [t.id for t in tasks] == [f"{tasks[0].id.split('.')[0]}.{i}" for i in range(1, 5)]
    assert all(i.state is JobState.DONE for i in session.wait_all_terminated(tasks, timeout=30))
    slow = session.run_job(JobTemplate(remote_command="sleep", args=["30"]))
    with pytest.raises(WaitTimeout):
        slow.wait_terminated(timeout=0.2)
    fast = session.run_job(JobTemplate(remote_command="true"))
    assert session.wait_any_terminated([slow, fast], timeout=30).id == fast.id
    slow.terminate()
    assert slow.wait_terminated(timeout=30).signal == 15
    assert {j.id for j in session.get_jobs()} >= {job.id, slow.id, fast.id}


def test_import_does_not_load_the_cli() -> None:
    code = "import sys, drmaa2cli.session; print('typer' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_store_files_are_replaced_whole(cli: Cli) -> None:
    cli.submit("true")
    data = json.loads((cli.home / "jobs.json").read_text())
    assert data["_meta"]["1"]["schema_version"] == 1
    assert not list(cli.home.glob(".*.tmp"))


def leftover_requests(home: Path) -> list[str]:
    """Control requests and answers still in the run directory (none may outlive the call that made them)."""
    return sorted(p.name for p in (home / "run").iterdir() if ".ctl." in p.name or ".ack." in p.name)


def test_control_right_after_run_job_takes_effect(home: Path) -> None:
    """A terminate, hold or release issued the moment run_job returns reaches a shepherd that may still be
    starting (it once died of the SIGUSR1 that announces the request: "never started", a request file left)."""
    session = JobSession.open("api", environ={"DRMAA2_HOME": str(home)})
    for _ in range(16):
        job = session.run_job(JobTemplate(remote_command="sleep", args=["30"]))
        job.terminate()
        info = job.wait_terminated(timeout=30)
        assert info.state is JobState.FAILED, info
        if info.dispatch_time is None:
            assert info.annotation == "killed by drmaa2 kill before it started" and info.exit_code() is None
        else:
            assert (info.annotation, info.signal, info.exit_code()) == ("killed by drmaa2 kill (SIGTERM)", 15, 143)
        assert leftover_requests(home) == []
    for _ in range(16):
        job = session.run_job(JobTemplate(remote_command="sh", args=["-c", "echo ran"]))
        try:
            job.hold()
        except InvalidState as e:
            # The start came first (and, on a busy machine, maybe the end): an honest refusal, the job runs on.
            assert "has started" in str(e) or "has already ended" in str(e), e
        else:
            assert job.get_state() is JobState.QUEUED_HELD  # a hold that succeeded holds
            job.release()
        info = job.wait_terminated(timeout=30)
        assert info.state is JobState.DONE, info
        assert Path(info.output_path or "").read_text() == "ran\n"
        assert leftover_requests(home) == []
    for _ in range(4):
        job = session.run_job(JobTemplate(remote_command="true", submit_as_hold=True))
        job.release()
        assert job.wait_terminated(timeout=30).state is JobState.DONE
    assert leftover_requests(home) == []


def test_warnings_reach_the_callback_or_are_collected(home: Path, cli: Cli) -> None:
    """What does not stop an operation goes to the one ``warn`` callback given to the Service, else into
    ``Service.warnings``; the CLI prints each distinct one once on stderr."""
    from drmaa2cli import config
    from drmaa2cli.service import Service

    settings = config.resolve(environ={"DRMAA2_HOME": str(home)})
    svc = Service(settings)
    first, second = (svc.submit(JobTemplate(remote_command="true")).id for _ in range(2))
    svc.wait([first, second], timeout=30)
    told: list[str] = []
    with pytest.raises(InvalidState, match=f"job {second} has already ended"):
        Service(settings, warn=told.append).kill([first, second])
    assert told == [f"job {first} has already ended (done)"]
    with pytest.raises(InvalidState):
        svc.kill([first, first, second])
    assert svc.warnings == [f"job {first} has already ended (done)"]
    a, b = cli.submit("true"), cli.submit("true")
    cli("wait", a, b)
    r = cli("kill", a, b)
    assert r.code == 205 and r.err.splitlines() == [f"drmaa2: job {a} has already ended (done)",
                                                   f"drmaa2: job {b} has already ended (done)"], r.err


def test_destroying_a_session_asks_no_backend_about_others(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name is checked in the store: a refresh of every live job (network calls on cf and Slurm) only to
    see that a session exists was wasted."""
    from drmaa2cli import config
    from drmaa2cli.backends.process.backend import ProcessBackend
    from drmaa2cli.errors import SessionNotFound
    from drmaa2cli.service import Service

    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(home)}))
    busy = svc.submit(JobTemplate(remote_command="sleep", args=["30"]), session="busy")
    done = svc.submit(JobTemplate(remote_command="true"), session="done")
    svc.wait([done.id], timeout=30)
    asked: list[str] = []
    refresh = ProcessBackend.refresh

    def counting(self: ProcessBackend, jobs: list[object]) -> object:
        asked.extend(j.id for j in jobs)  # type: ignore[attr-defined]
        return refresh(self, jobs)  # type: ignore[arg-type]

    monkeypatch.setattr(ProcessBackend, "refresh", counting)
    with pytest.raises(SessionNotFound):
        svc.destroy_session("nosuch")
    assert svc.destroy_session("done") == 1
    assert busy.id not in asked
    svc.kill([busy.id])


def test_each_backend_checks_its_own_backend_data(home: Path) -> None:
    """The store holds a record's backend data to the shape its backend declares (``backends.check_data``,
    without loading the backend): another backend's keys are left alone; the deferred starts' mark is checked
    too. A record that fails is set aside (quarantine), naming what was wrong, and the others stay."""
    from drmaa2cli import config
    from drmaa2cli.errors import JobNotFound
    from drmaa2cli.service import Service
    from drmaa2cli.store import quarantine

    svc = Service(config.resolve(environ={"DRMAA2_HOME": str(home)}))
    live = home / "jobs.json"

    def corrupt(job_id: str, **data: object) -> None:
        doc = json.loads(live.read_text())
        next(r for r in doc["jobs"].values() if r["id"] == job_id)["backend_data"].update(data)
        live.write_text(json.dumps(doc))

    first, second, third = (svc.submit(JobTemplate(remote_command="true")) for _ in range(3))
    corrupt(first.id, shepherd="x")
    corrupt(second.id, shepherd=1, container=3)  # a docker key: not ours to check
    corrupt(third.id, deferred={"runner": "x"})
    with pytest.raises(JobNotFound):
        svc.jobs([first.id])
    assert [j.id for j in svc.jobs([second.id])] == [second.id]
    with pytest.raises(JobNotFound):
        svc.jobs([third.id])
    problems = {e["record"]["id"]: e["problem"] for e in quarantine.entries(svc._ctx.store)}
    assert problems == {first.id: "backend data shepherd has the wrong type",
                        third.id: "backend data runner has the wrong type"}
    assert any("backend data shepherd has the wrong type" in w for w in svc.warnings)

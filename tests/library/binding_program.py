"""A program written only against the DRMAA2 Python binding (``import drmaa2``), the same for every backend:

    python tests/library/binding_program.py CONTACT [JOB_CATEGORY]

Sessions, templates, jobs, arrays, waits, control, errors and the monitoring session. It prints one line per
step and exits 0 when every check held; an AssertionError (exit 1) names the check that did not. Its jobs are
ended and its session destroyed on the way out, whatever happened.
"""

from __future__ import annotations

import os
import sys
import uuid

import drmaa2

CONTACT = sys.argv[1]
CATEGORY = sys.argv[2] if len(sys.argv) > 2 else None
NAME = f"binding-{uuid.uuid4().hex[:8]}"
DEADLINE = 180  # seconds a job may take on a loaded two-core machine with a polling scheduler


def template(*argv: str, **fields: object) -> drmaa2.JobTemplate:
    return drmaa2.JobTemplate(remote_command=argv[0], args=list(argv[1:]), job_category=CATEGORY,
                              **fields)  # type: ignore[arg-type]


def step(text: str) -> None:
    print(text, flush=True)


def raises(exc: type[Exception], call: object, *args: object) -> Exception:
    try:
        call(*args)  # type: ignore[operator]
    except exc as e:
        return e
    raise AssertionError(f"{call} did not raise {exc.__name__}")


def main(session: drmaa2.JobSession) -> None:
    assert session.session_name == NAME and session.contact == CONTACT
    assert NAME in drmaa2.get_job_session_names()
    assert isinstance(drmaa2.supports(drmaa2.Capability.BULK_JOBS_MAXPARALLEL, CONTACT), bool)
    categories = session.job_categories
    assert isinstance(categories, list) and (CATEGORY is None or CATEGORY in categories), categories

    # A job that fails with its own exit status, and one that succeeds.
    three = session.run_job(template("sh", "-c", "exit 3", job_name="three"))
    ok = session.run_job(template("true", job_name="ok"))
    three.wait_terminated(DEADLINE)
    ok.wait_terminated(drmaa2.INFINITE_TIME)
    assert three.get_state()[0] == drmaa2.JobState.FAILED, three.get_state()
    info = three.get_info()
    assert info.exit_status == 3 and info.job_name == "three" and info.job_state == drmaa2.JobState.FAILED, info
    assert (info.exit_code, info.exit_code_from) == (3, "job"), info
    assert ok.get_state()[0] == drmaa2.JobState.DONE and ok.get_info().exit_status == 0
    assert info.submission_time is not None and info.finish_time is not None
    assert info.submission_time <= info.finish_time
    assert three.job_template.args == ["-c", "exit 3"] and three.session_name == NAME
    step("run_job, wait_terminated, get_state, get_info: ok")

    # The session's jobs, filtered as DRMAA2 filters.
    assert {j.job_id for j in session.get_jobs()} >= {three.job_id, ok.job_id}
    assert [j.job_id for j in session.get_jobs(drmaa2.JobInfo(job_name="three"))] == [three.job_id]
    done = session.get_jobs(drmaa2.JobInfo(job_state=drmaa2.JobState.DONE))
    assert ok in done and three not in done
    step("get_jobs(filter): ok")

    # An array of three tasks, at most two at once.
    array = session.run_bulk_jobs(template("sh", "-c", "exit 0"), 1, 3, 1, 2)
    assert len(array.jobs) == 3 and array.session_name == NAME
    for job in array.jobs:
        job.wait_terminated(DEADLINE)
        assert job.get_state()[0] == drmaa2.JobState.DONE, (job, job.get_info())
    again = session.get_job_array(array.job_array_id)
    assert [j.job_id for j in again.jobs] == [j.job_id for j in array.jobs]
    step("run_bulk_jobs, get_job_array: ok")

    # Held until released; waits with ZERO_TIME time out at once.
    held = session.run_job(template("true", submit_as_hold=True))
    assert held.get_state()[0] == drmaa2.JobState.QUEUED_HELD, held.get_state()
    raises(drmaa2.TimeoutException, session.wait_any_started, [held], drmaa2.ZERO_TIME)
    raises(drmaa2.TimeoutException, held.wait_terminated, drmaa2.ZERO_TIME)
    held.release()
    held.wait_started(DEADLINE)
    held.wait_terminated(DEADLINE)
    assert held.get_state()[0] == drmaa2.JobState.DONE
    step("hold, release, wait_started, ZERO_TIME: ok")

    # The first of two to end, and terminate.
    slow = session.run_job(template("sleep", "300"))
    quick = session.run_job(template("true"))
    assert session.wait_any_terminated([slow, quick], DEADLINE) == quick
    assert session.wait_any_started([slow], DEADLINE) == slow
    slow.terminate()
    slow.wait_terminated(DEADLINE)
    assert slow.get_state()[0] == drmaa2.JobState.FAILED
    step("wait_any_terminated, wait_any_started, terminate: ok")

    # The standard's exceptions, carrying the CLI's exit codes.
    e = raises(drmaa2.UnsupportedAttributeException, session.run_job, template("true", reservation_id="r1"))
    assert "reservation id" in str(e) and e.exit_status == 201  # type: ignore[attr-defined]
    e = raises(drmaa2.InvalidStateException, ok.terminate)
    assert e.exit_status == 205  # type: ignore[attr-defined]
    e = raises(drmaa2.InvalidSessionException, drmaa2.open_job_session, f"{NAME}-none")
    assert e.exit_status == 202  # type: ignore[attr-defined]
    raises(drmaa2.UnsupportedOperationException, drmaa2.create_reservation_session)
    ok.reap()
    raises(drmaa2.InvalidArgumentException, ok.get_info)
    step("exceptions, reap: ok")

    # Staging: where the backend supports it, a file the job wrote comes back; elsewhere it is refused.
    staged = os.path.join(os.getcwd(), f"{NAME}.staged")
    writer = template("sh", "-c", "printf 'staged\\n' > /tmp/out.txt", stage_out_files={staged: "/tmp/out.txt"})
    if drmaa2.supports(drmaa2.Capability.JT_STAGING, CONTACT):
        job = session.run_job(writer)
        job.wait_terminated(DEADLINE)
        assert job.get_state()[0] == drmaa2.JobState.DONE, job.get_info()
        with open(staged) as f:
            assert f.read() == "staged\n"
        assert os.stat(staged).st_mode & 0o777 == 0o600
        step("staging: honoured")
    else:
        e = raises(drmaa2.UnsupportedAttributeException, session.run_job, writer)
        assert "stage out files" in str(e), e
        step("staging: refused")

    # The monitoring session: this platform's machines, queues and jobs.
    monitor = drmaa2.open_monitoring_session(CONTACT)
    machines = monitor.get_all_machines()
    assert machines and all(m.name for m in machines), machines
    assert all(isinstance(m.machine_os, drmaa2.OperatingSystem) for m in machines)
    assert all(isinstance(m.machine_arch, drmaa2.CpuArchitecture) for m in machines)
    assert all(m.cores is None or m.cores > 0 for m in machines)
    assert monitor.get_all_machines([machines[0].name])[0].name == machines[0].name
    queues = monitor.get_all_queues()
    assert all(q.name for q in queues)
    # Placement and accounting: honoured where the platform can (the job runs on the machine asked for), else
    # refused with the field's name, never dropped.
    placed = template("true", candidate_machines=[machines[0].name], min_phys_memory=1024, accounting_id="proj1")
    try:
        job = session.run_job(placed)
    except drmaa2.UnsupportedAttributeException as e:
        assert "candidate machines" in str(e), e
        step("placement: refused")
    else:
        job.wait_terminated(DEADLINE)
        assert job.get_state()[0] == drmaa2.JobState.DONE, job.get_info()
        assert job.get_info().allocated_machines == [machines[0].name], job.get_info()
        assert job.job_template.accounting_id == "proj1"
        step("placement: honoured")
    watched = session.run_job(template("sleep", "300"))
    watched.wait_started(DEADLINE)
    listed = {j.job_id for j in monitor.get_all_jobs()}
    assert watched.job_id in listed, (watched, listed)
    watched.terminate()
    watched.wait_terminated(DEADLINE)
    monitor.close()
    step(f"monitoring: {len(machines)} machine(s), queues {[q.name for q in queues]}: ok")

    # Closed, reopened with its contact, destroyed.
    session.close()
    raises(drmaa2.InvalidSessionException, session.run_job, template("true"))
    reopened = drmaa2.open_job_session(NAME)
    assert reopened.contact == CONTACT and three in reopened.get_jobs()
    reopened.close()
    step("close, open_job_session: ok")


def end_everything() -> None:
    """End what a failed check left behind, then destroy the session."""
    try:
        session = drmaa2.open_job_session(NAME)
    except drmaa2.InvalidSessionException:
        return
    for job in session.get_jobs():
        if job.get_state()[0] not in (drmaa2.JobState.DONE, drmaa2.JobState.FAILED):
            try:
                job.terminate()
                job.wait_terminated(60)
            except drmaa2.DrmaaException as e:
                print(f"clean-up: job {job.job_id}: {e}", file=sys.stderr)
    drmaa2.destroy_session(NAME)


if __name__ == "__main__":
    try:
        main(drmaa2.create_job_session(NAME, CONTACT))
    finally:
        end_everything()
    assert NAME not in drmaa2.get_job_session_names()
    step("destroy_session: ok")

"""A home with one corrupt record among 10,000 serves every command, as a user meets it: the record goes to
quarantine with one warning, and every other job stays usable."""

from __future__ import annotations

import json
import time

from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.store import Store, quarantine
from tests.conftest import Cli


def test_one_corrupt_record_among_10000_and_every_command_works(cli: Cli) -> None:
    store = Store(cli.home)
    now = time.time()
    with store.transaction() as txn:
        jobs = [JobInfo(id=str(txn.allocate()), session="default", backend="process", state=JobState.DONE,
                        exit_status=0, submission_time=now, finish_time=now,
                        template=JobTemplate(remote_command="true")) for _ in range(10_000)]
        txn.put_many(jobs)
    shard = store.shard_path(0)  # finished jobs are archived as they are written
    data = json.loads(shard.read_bytes())
    bad = next(k for k, r in data["jobs"].items() if r["id"] == "71")
    data["jobs"][bad]["template"]["job_name"] = 5  # as an unchecked writer once left it
    shard.write_text(json.dumps(data))

    r = cli("status", "--json", "-n", "20000")
    assert r.code == 0, r.err
    assert r.err.count("\n") == 1 and "'71'" in r.err and "quarantine" in r.err, r.err
    assert len(r.json()["jobs"]) == 9_999
    job = cli.submit("sh", "-c", "exit 4")
    assert cli("wait", job).code == 4
    assert cli("status", "72").code == 0
    assert cli("status", "71").code == 202
    assert [e["record"]["id"] for e in quarantine.entries(store)] == ["71"]
    again = cli("status", "--json", "-n", "1")
    assert again.code == 0 and again.err == "", again.err  # moved: nothing more to say
    doc = cli("doctor", "--json")
    assert doc.code == 0 and [e["record"]["id"] for e in doc.json()["quarantined"]] == ["71"]
    text = cli("doctor")
    assert text.code == 0 and "job 71" in text.out and "job_name has the wrong type" in text.out, text.out


def test_doctor_says_a_sound_store_is_sound(cli: Cli) -> None:
    cli.submit("true")
    r = cli("doctor")
    assert r.code == 0 and "sound" in r.out and r.err == ""

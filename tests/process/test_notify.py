"""Notifications on the process backend, fired by the job's shepherd: mail through a real local MTA
(``tests/infra/mta.sh``) that lands in the user's mailbox, an array's mail for the array as a whole, and its
hooks for every task even when more end at once than notifiers may run at once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from drmaa2cli.backends.process.shepherd import MAX_NOTIFIERS
from tests.conftest import Cli
from tests.mailbox import MAIL_USER, mail_with, mailbox


def test_an_end_mail_arrives_in_the_local_mailbox(cli: Cli) -> None:
    box = mailbox()
    name = f"mail-{uuid.uuid4().hex[:10]}"
    r = cli("submit", "--wait", "--terse", "--name", name, "--mail-type=END", "--mail-user", MAIL_USER, "--",
            "sh", "-c", "exit 4")
    assert r.code == 4, r.err
    job = r.out.strip()
    mail = mail_with(box, f"({name})")
    assert f"Subject: drmaa2 job {job} ({name}) ended, failed, exit status 4" in mail
    assert f"To: {MAIL_USER}" in mail


def test_an_arrays_end_mail_is_for_the_array_and_every_task_runs_the_hook(cli: Cli, tmp_path: Path) -> None:
    box = mailbox()
    name = f"array-{uuid.uuid4().hex[:10]}"
    tasks = 2 * MAX_NOTIFIERS + 1
    events = tmp_path / "events"
    r = cli("submit", "--wait", "--terse", "--name", name, "--array", f"1-{tasks}", "--mail-type=END",
            "--mail-user", MAIL_USER, "--notify", f"echo $DRMAA2_EVENT.$DRMAA2_TASK_ID >> {events}", "--",
            "sh", "-c", 'exit $((DRMAA2_TASK_ID == 2))')
    assert r.code == 1, r.err
    job = r.out.strip()
    mail = mail_with(box, f"({name})")
    assert f"Subject: drmaa2 job {job} ({name}) ended, failed\n" in mail
    assert f"annotation: 1 of {tasks} tasks failed" in mail
    end = time.monotonic() + 60
    while len(lines := (events.read_text().split() if events.exists() else [])) < tasks:
        assert time.monotonic() < end, lines
        time.sleep(0.1)
    assert sorted(lines) == sorted(["fail.2", *(f"end.{i}" for i in range(1, tasks + 1) if i != 2)])


def test_a_subreaper_shepherd_leaves_its_notifiers_alone(cli: Cli, tmp_path: Path) -> None:
    # Without a cgroup the shepherd ends whatever of a job's tree is left when the job ends: its notifiers are
    # its children too, and a slow hook must not be taken for the job's leftovers.
    cli.home.mkdir(exist_ok=True)
    (cli.home / "config.toml").write_text("[backends.process]\ncgroup = false\n")
    events = tmp_path / "events"
    r = cli("submit", "--wait", "--notify", f"sleep 2; echo $DRMAA2_EVENT >> {events}", "--", "true")
    assert r.code == 0, r.err
    end = time.monotonic() + 60
    while len(lines := (events.read_text().split() if events.exists() else [])) < 2:
        assert time.monotonic() < end, (lines, (cli.home / "notify.log").read_text()
                                        if (cli.home / "notify.log").exists() else "")
        time.sleep(0.1)
    assert sorted(lines) == ["begin", "end"]

"""Mail at a job's events on the process backend, through a real local MTA (``tests/infra/mta.sh``): the
shepherd's notifier hands it to the machine's sendmail, and it lands in the user's mailbox."""

from __future__ import annotations

import uuid

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

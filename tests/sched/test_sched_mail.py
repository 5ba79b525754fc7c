"""Mail on a scheduler is the scheduler's own (Slurm's MailProg, Grid Engine's mailer): the options it is
handed, and a mail that arrives in a local mailbox (``tests/infra/mta.sh``) from the scheduler itself."""

from __future__ import annotations

import uuid

import pytest

from drmaa2cli.backends.sched import gridengine_cmd, slurm_cmd
from drmaa2cli.models import JobState, JobTemplate
from tests.mailbox import MAIL_USER, mail_with, mailbox
from tests.slurm.sched_driver import Driver


def test_the_mail_options_are_the_schedulers_own() -> None:
    plain = JobTemplate(remote_command="true")
    assert slurm_cmd.mail_options(plain) == gridengine_cmd.mail_options(plain) == []
    asked = JobTemplate(remote_command="true", mail_types=["BEGIN", "END", "FAIL"], email=["a@b", "c"])
    assert slurm_cmd.mail_options(asked) == ["--mail-type=BEGIN,END,FAIL", "--mail-user=a@b,c"]
    assert gridengine_cmd.mail_options(asked) == ["-m", "bea", "-M", "a@b,c"]
    to_me = JobTemplate(remote_command="true", mail_types=["END"])  # the scheduler's default: the submitter
    assert slurm_cmd.mail_options(to_me) == ["--mail-type=END"]
    assert gridengine_cmd.mail_options(to_me) == ["-m", "e"]


@pytest.fixture(params=["slurm", "gridengine"])
def sched(request: pytest.FixtureRequest) -> Driver:
    driver: Driver = request.getfixturevalue(request.param)
    return driver


def test_the_scheduler_mails_at_the_end(sched: Driver) -> None:
    box = mailbox()
    name = f"m{uuid.uuid4().hex[:10]}"
    job = sched.run(["true"], job_name=name, mail_types=["END"], email=[MAIL_USER])
    (ended,) = sched.wait([job])
    assert ended.state is JobState.DONE, ended
    mail = mail_with(box, name)
    assert "drmaa2 job" not in mail  # the scheduler's mail, not one drmaa2 sent

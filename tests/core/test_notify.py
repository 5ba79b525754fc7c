"""Notifications without a process: the option values, which events a mail or hook is for, the mail's text,
who does what on which backend, the watcher's bookkeeping of events, and the config's [notify] table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drmaa2cli.backends import backend_class
from drmaa2cli.backends.base import BackendContext
from drmaa2cli.backends.process.backend import ProcessBackend, ProcessLaunch
from drmaa2cli.commands.options import BY_PARAM
from drmaa2cli.commands.submitting import build_template
from drmaa2cli.config.settings import load_config_file
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import JobInfo, JobState, JobTemplate
from drmaa2cli.notify import fire, orders
from drmaa2cli.notify.watch import Events


def test_mail_types_are_sbatchs_words() -> None:
    assert orders.mail_types("end,FAIL") == ["END", "FAIL"]
    assert orders.mail_types("ALL") == ["BEGIN", "END", "FAIL"]
    assert orders.mail_types("NONE") == []
    for bad in ("", "END,SOMETIMES", "TIME_LIMIT"):
        with pytest.raises(InvalidArgument, match="--mail-type"):
            orders.mail_types(bad)
    assert orders.addresses("a@b.c, me") == ["a@b.c", "me"]
    with pytest.raises(InvalidArgument, match="--mail-user"):
        orders.addresses("a b")


def test_the_options_fill_the_template() -> None:
    options: dict[str, Any] = {"mail_type": "begin,end", "mail_user": "x@y", "notify": "echo hi"}
    template = build_template(["true"], options)
    assert (template.mail_types, template.email, template.notify_command) == (["BEGIN", "END"], ["x@y"], "echo hi")
    assert {BY_PARAM[p].flags[0] for p in options} == {"--mail-type", "--mail-user", "--notify"}


@pytest.mark.parametrize(("types", "begin", "end", "fail"), [
    ("BEGIN", True, False, False), ("END", False, True, True), ("FAIL", False, False, True),
    ("BEGIN,END,FAIL", True, True, True), ("", False, False, False),
])
def test_which_events_a_mail_is_for(types: str, begin: bool, end: bool, fail: bool) -> None:
    assert [fire.wanted(types, e) for e in ("begin", "end", "fail")] == [begin, end, fail]


def test_the_mail_names_the_job_and_how_it_ended() -> None:
    text = fire.message({"DRMAA2_EVENT": "fail", "DRMAA2_JOB_ID": "12", "DRMAA2_TASK_ID": "3",
                         "DRMAA2_JOB_NAME": "nightly", "DRMAA2_JOB_STATE": "failed", "DRMAA2_EXIT_STATUS": "2",
                         "DRMAA2_SESSION": "ci"}, ["a@b", "c"]).decode()
    assert "To: a@b, c\n" in text
    assert "Subject: drmaa2 job 12.3 (nightly) ended, failed, exit status 2\n" in text
    assert "\n\nJob 12.3 (nightly) ended, failed, exit status 2.\n" in text and "session: ci" in text
    sly = fire.message({"DRMAA2_EVENT": "begin", "DRMAA2_JOB_ID": "1", "DRMAA2_JOB_NAME": "x\nBcc: all@h"},
                       ["me"]).decode()
    assert "Subject: drmaa2 job 1 (x?Bcc: all@h) began\n" in sly and "\nBcc:" not in sly


def _job(state: JobState, dispatched: bool, job_id: str = "5") -> JobInfo:
    return JobInfo(id=job_id, session="s", backend="docker", state=state, exit_status=0 if state.final else None,
                   dispatch_time=1.0 if dispatched else None, template=JobTemplate(job_name="n"))


def test_the_watcher_fires_begin_and_end_once_each_begin_first() -> None:
    fired: list[tuple[str, str]] = []
    events = Events({}, lambda o, v: fired.append((v["DRMAA2_EVENT"], v["DRMAA2_JOB_STATE"])))
    for look in ([_job(JobState.QUEUED, False)], [_job(JobState.RUNNING, True)], [_job(JobState.RUNNING, True)],
                 [_job(JobState.DONE, True)], [_job(JobState.DONE, True)]):
        events.look(look)
    assert fired == [("begin", "running"), ("end", "done")]
    fired.clear()
    events.look([_job(JobState.FAILED, True, "6")])  # started and ended between two looks
    events.look([_job(JobState.FAILED, False, "7")])  # never started
    assert fired == [("begin", "running"), ("fail", "failed"), ("fail", "failed")]  # a begin says the start


def test_who_sends_what(tmp_path: Path) -> None:
    both = JobTemplate(remote_command="true", mail_types=["END"], notify_command="echo")
    assert orders.watcher_orders(both, backend_class("process"), tmp_path) is None  # the shepherd does it all
    for name in ("slurm", "libdrmaa"):  # the scheduler mails itself (libdrmaa: Grid Engine's -m/-M)
        own = orders.watcher_orders(both, backend_class(name), tmp_path)
        assert own is not None and (own["mail"], own["command"]) == ("", "echo"), name
    mail_only = JobTemplate(remote_command="true", mail_types=["END"])
    for name in ("gridengine", "libdrmaa"):
        assert orders.watcher_orders(mail_only, backend_class(name), tmp_path) is None, name
    for name in ("docker", "podman", "kubernetes", "cf"):
        docker = orders.watcher_orders(both, backend_class(name), tmp_path)
        assert docker is not None and (docker["mail"], docker["types"]) == ("1", "END"), name


def test_the_shepherds_orders_are_the_notifiers(tmp_path: Path) -> None:
    template = JobTemplate(remote_command="true", job_name="n", mail_types=["BEGIN", "FAIL"], email=["a"],
                           notify_command="echo $DRMAA2_EVENT")
    launch = ProcessLaunch.__new__(ProcessLaunch)
    launch.backend, launch.template = ProcessBackend(BackendContext(home=tmp_path)), template
    spec = launch.notify()
    assert spec is not None
    given = dict(arg.partition("=")[::2] for arg in spec["argv"][-len(fire.ORDER_KEYS):])
    assert given == orders.orders(template, tmp_path)
    assert spec["vars"] == {"DRMAA2_BACKEND": "process", "DRMAA2_JOB_NAME": "n"}


def test_no_sendmail_is_one_warning_where_drmaa2_would_send(monkeypatch: pytest.MonkeyPatch) -> None:
    mail = JobTemplate(remote_command="true", mail_types=["END"])
    monkeypatch.setattr(fire, "SENDMAIL", ())
    assert orders.submit_warning(mail, backend_class("docker"), {"PATH": "/nonexistent"}) is not None
    assert orders.submit_warning(mail, backend_class("slurm"), {"PATH": "/nonexistent"}) is None
    assert orders.submit_warning(JobTemplate(remote_command="true"), backend_class("docker"), {"PATH": ""}) is None


@pytest.mark.parametrize(("text", "error"), [
    ('[notify]\ncommand = "notify-send done"\n', None),
    ("[notify]\ncommand = 3\n", "line 2: [notify] command must be a shell command line"),
    ('[notify]\nwhen = "end"\n', "line 2: unknown setting 'when' in [notify]"),
    ('notify = "x"\n', "notify must be a table"),
])
def test_the_config_notify_table_is_checked(tmp_path: Path, text: str, error: str | None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    if error is None:
        assert load_config_file(path)["notify"]["command"] == "notify-send done"
        return
    with pytest.raises(InvalidArgument) as caught:
        load_config_file(path)
    assert str(caught.value).startswith(f"config file {path}") and error in str(caught.value)


def test_an_arrays_mail_is_one_at_its_first_start_and_one_at_its_end() -> None:
    fired: list[tuple[str, str, str, str]] = []
    events = Events({"mail": "1", "command": "hook"}, lambda o, v: fired.append(
        ("mail" if o["mail"] else "hook", v["DRMAA2_EVENT"], v.get("DRMAA2_TASK_ID", "-"),
         v.get("DRMAA2_ANNOTATION", ""))), tasks=2)
    events.look([_job(JobState.RUNNING, True, "5.1"), _job(JobState.RUNNING, True, "5.2")])
    events.look([_job(JobState.DONE, True, "5.1"), _job(JobState.FAILED, True, "5.2")])
    assert fired == [("hook", "begin", "1", ""), ("mail", "begin", "-", ""), ("hook", "begin", "2", ""),
                     ("hook", "end", "1", ""), ("hook", "fail", "2", ""),
                     ("mail", "fail", "-", "1 of 2 tasks failed")]


def test_qsub_and_pbs_mail_letters_are_mail_types() -> None:
    assert orders.mail_letters("ea") == ("END,FAIL", [])
    assert orders.mail_letters("bea") == ("BEGIN,END,FAIL", [])
    assert orders.mail_letters("n") == ("NONE", [])
    assert orders.mail_letters("as") == ("FAIL", ["s"])
    assert orders.mail_types(orders.mail_letters("abe")[0]) == ["BEGIN", "END", "FAIL"]
    with pytest.raises(InvalidArgument, match="-m x"):
        orders.mail_letters("x")


def test_sbatch_mail_words_without_a_counterpart_are_set_apart() -> None:
    assert orders.sbatch_mail_types("END,FAIL,TIME_LIMIT_80") == ("END,FAIL", ["TIME_LIMIT_80"])
    assert orders.sbatch_mail_types("ARRAY_TASKS") == ("NONE", ["ARRAY_TASKS"])
    assert orders.sbatch_mail_types("all") == ("ALL", [])
    with pytest.raises(InvalidArgument, match="SOMETIMES"):
        orders.sbatch_mail_types("END,SOMETIMES")

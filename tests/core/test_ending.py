"""The words of how a job ended (backends/ending.py), shared by every backend, and the one rule that decides
whether `submit --wait` adds a line to the job's own exit code."""

from __future__ import annotations

import pytest

from drmaa2cli.backends import ending


def test_words() -> None:
    assert ending.exited(3) == "exited with status 3"
    assert ending.exited(127) == "exited with status 127 (command not found)"
    assert ending.by_signal(9) == "killed by signal 9 (SIGKILL)"
    assert ending.killed(15) == "killed by drmaa2 kill (SIGTERM)"
    assert ending.killed(9) == "killed by drmaa2 kill (SIGKILL)"
    assert ending.killed(9, escalated=True) == "killed by drmaa2 kill (SIGKILL after SIGTERM was ignored for 5s)"
    assert ending.timed_out(3, 15, escalated=True) == "timed out after 3s"
    escalated = "timed out after 1.5s (SIGKILL after SIGTERM was ignored for 5s)"
    assert ending.timed_out(1.5, 9, escalated=True) == escalated
    assert ending.dependency_failed(["4"], "exited with status 1") == "dependency 4 failed (exited with status 1)"
    assert ending.dependency_failed(["4", "5"]) == "one of dependencies 4, 5 failed"


@pytest.mark.parametrize(("code", "split"), [(0, (0, None)), (3, (3, None)), (128, (128, None)),
                                             (137, (None, 9)), (143, (None, 15)), (255, (255, None))])
def test_a_status_of_128_plus_n_reads_as_signal_n(code: int, split: tuple[int | None, int | None]) -> None:
    assert ending.split_status(code) == split


@pytest.mark.parametrize(("exit_status", "signal", "annotation", "more"), [
    (3, None, "exited with status 3", False),
    (127, None, "exited with status 127 (command not found)", False),
    (None, None, None, False),
    (127, None, "command not found: nope", True),
    (None, 15, "killed by drmaa2 kill (SIGTERM)", True),
    (3, None, "killed by drmaa2 kill (SIGTERM, then it exited with status 3)", True),
    (137, None, "OOM killed (exited with status 137)", True),
    (None, None, "never started: its supervisor exited before starting it", True),
])
def test_what_submit_wait_reports(exit_status: int | None, signal: int | None, annotation: str | None,
                                  more: bool) -> None:
    assert ending.says_more_than_its_status(exit_status, signal, annotation) is more


@pytest.mark.parametrize(("sent", "code", "signal"), [
    (None, 137, None),  # drmaa2 sent nothing: a signal of its own, not drmaa2's
    ("stop", 143, 15), ("stop", 137, 9), ("stop", 130, None), ("stop", 128, None), ("stop", None, None),
    ("timeout", 137, 9), ("overdue", 143, 15), (9, 137, 9), (15, 137, None), (2, 130, 2),
])
def test_the_signal_drmaa2_sent_is_read_from_the_exit_code(sent: int | str | None, code: int | None,
                                                            signal: int | None) -> None:
    assert ending.killed_by(sent, code) == signal


@pytest.mark.parametrize(("code", "oom", "error", "fields"), [
    (0, True, "boom", {"state": "done", "exit_status": 0}),
    (137, False, "", {"state": "failed", "signal": 9, "annotation": "killed by signal 9 (SIGKILL)"}),
    (3, False, "", {"state": "failed", "exit_status": 3, "annotation": "exited with status 3"}),
    (127, False, "", {"state": "failed", "exit_status": 127,
                      "annotation": "exited with status 127 (command not found)"}),
    (3, True, "boom", {"state": "failed", "exit_status": 3,
                       "annotation": "exited with status 3 (a process was OOM killed)"}),
    (3, False, "boom", {"state": "failed", "exit_status": 3, "annotation": "exited with status 3: boom"}),
    (255, False, "", {"state": "failed", "exit_status": 255, "annotation": "exited with status 255"}),
])
def test_an_exit_code_alone_gives_the_state(code: int, oom: bool, error: str, fields: dict[str, object]) -> None:
    assert ending.of_exit_code(code, oom=oom, error=error) == fields

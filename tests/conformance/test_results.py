"""How a job ends and what it leaves: states, exit codes, annotations, times, arguments and output, the same on
every backend, and what it used (contract cases exit-status, command-not-found, arguments, times, output-bytes,
output-files, accounting)."""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime
from pathlib import Path

from .conftest import Target, case

#: Every byte value, newline last (Cloud Foundry's logs are lines), as printf's octal escapes: printf of sh,
#: dash and busybox all read them, so no byte passes through a shell's quoting.
ALL_BYTES = bytes(b for b in range(256) if b != 10) + b"\n"
PRINTF_ALL_BYTES = "".join(f"\\{b:03o}" for b in ALL_BYTES)


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def one_log(target: Target) -> bool:
    """Whether the backend keeps stdout and stderr in one stream (a Kubernetes pod's log): it declares
    output-bytes honoured in part, and `logs` then holds the lines of both, interleaved as the platform read
    them from its two pipes (a line of stderr written just after one of stdout may come first)."""
    return target.refused("output-bytes") is not None


def lines(data: bytes) -> list[bytes]:
    return sorted(data.splitlines(keepends=True))


@case("exit-status")
def test_exit_status(target: Target) -> None:
    ok = target.submit("sh", "-c", "exit 0")
    bad = target.submit("sh", "-c", "exit 3")
    sig = target.submit("sh", "-c", "kill -TERM $$")
    assert (target.wait(ok), target.wait(bad), target.wait(sig)) == (0, 3, 143)
    done = target.info(ok)
    assert (done["state"], done["exit_status"], done["signal"], done["exit_code"]) == ("done", 0, None, 0)
    assert done["annotation"] is None, done
    bad_info = target.info(bad)
    assert (bad_info["state"], bad_info["exit_status"], bad_info["signal"], bad_info["exit_code"]) == (
        "failed", 3, None, 3)
    assert bad_info["annotation"] == "exited with status 3"
    killed = target.info(sig)
    assert (killed["state"], killed["signal"], killed["exit_code"]) == ("failed", 15, 143)
    assert killed["annotation"] == "killed by signal 15 (SIGTERM)"
    assert {done["exit_code_from"], bad_info["exit_code_from"], killed["exit_code_from"]} == {"job"}
    r = target("submit", "--wait", "--json", *target.job_options(), "--", "sh", "-c", "exit 5")
    assert (r.code, r.json()["exit_code"], r.json()["exit_code_from"]) == (5, 5, "job"), (r.code, r.err)
    array = target.submit("sh", "-c", "exit $((DRMAA2_TASK_ID == 2))", options=("--array", "1-3%2"))
    assert target.wait(array) == 1
    summary = target("status", "--json", array).json()["arrays"][0]
    assert (summary["failed_tasks"], summary["exit_code"]) == ([2], 1), summary


@case("command-not-found")
def test_command_not_found(target: Target) -> None:
    job = target.submit("drmaa2-no-such-command", "arg")
    code = target.wait(job)
    info = target.info(job)
    if target.refused("command-not-found") is not None:  # partly: failed, with another status (podman: 1)
        assert code not in (0, 127) and (info["state"], info["exit_code"]) == ("failed", code), info
        return
    assert code == 127
    assert (info["state"], info["exit_status"], info["exit_code"]) == ("failed", 127, 127)
    assert "not found" in (info["annotation"] or ""), info["annotation"]


@case("times")
def test_times_are_ordered(target: Target) -> None:
    job = target.submit("sh", "-c", "sleep 1")
    assert target.wait(job) == 0
    info = target.info(job)
    submitted, dispatched, finished = (epoch(info[k]) for k in ("submission_time", "dispatch_time", "finish_time"))
    assert submitted <= dispatched <= finished, info


@case("arguments")
def test_arguments_arrive_byte_for_byte(target: Target) -> None:
    args = ["a b", "'q'", '"d"', "$(x)", "`y`", "*", "~", "ü ✓", "a\\b", "tab\there", "-", "--", ""]
    job = target.submit("sh", "-c", 'printf "%s|" "$@"; echo; echo err >&2', "sh", *args)
    assert target.wait(job) == 0
    if one_log(target):
        assert lines(target("logs", job).out) == lines(("|".join(args) + "|\nerr\n").encode())
        return
    assert target("logs", job).out == ("|".join(args) + "|\n").encode()
    assert target("logs", "--stderr", job).out == b"err\n"


@case("output-bytes")
def test_output_bytes_come_back_exactly(target: Target) -> None:
    job = target.submit("sh", "-c", f'printf "{PRINTF_ALL_BYTES}"; printf "\\377\\376e\\n" >&2')
    assert target.wait(job) == 0
    if one_log(target):
        assert lines(target("logs", job).out) == lines(ALL_BYTES + b"\xff\xfee\n")
        return
    assert target("logs", job).out == ALL_BYTES
    assert target("logs", "--stderr", job).out == b"\xff\xfee\n"


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@case("output-files")
def test_output_files(target: Target) -> None:
    d = target.workdir
    options = ("--output", f"{d}/out.%j.%%.txt", "--error", f"{d}/err.%j.txt")
    if target.refused("output-files") is not None:
        target.check_refusal("output-files", target("submit", *target.job_options(), *options, "--", "true"))
        return
    job = target.submit("sh", "-c", 'printf "\\377out\\n"; echo err >&2', options=options)
    assert target.wait(job) == 0
    assert (d / f"out.{job}.%.txt").read_bytes() == b"\xffout\n"
    assert (d / f"err.{job}.txt").read_bytes() == b"err\n"
    joined = target.submit("sh", "-c", "echo out; echo err >&2", options=("--join", "--output", f"{d}/j.%A.txt"))
    array = target.submit("sh", "-c", 'echo "task $DRMAA2_TASK_ID"', options=(
        "--array", "1-2", "--output", f"{d}/a.%A.%a.txt", "--error", f"{d}/e.%A.$DRMAA2_INDEX$.txt"))
    plain = target.submit("sh", "-c", "echo plain; echo err >&2")
    for j in (joined, array, plain):
        assert target.wait(j) == 0
    assert sorted((d / f"j.{joined}.txt").read_text().split()) == ["err", "out"]
    for i in (1, 2):
        assert (d / f"a.{array}.{i}.txt").read_text() == f"task {i}\n"
        assert (d / f"e.{array}.{i}.txt").exists()
    info = target.info(plain)
    assert Path(info["output_path"]).read_text() == "plain\n"
    written = [info["output_path"], info["error_path"], *(str(p) for p in d.iterdir())]
    assert {p: oct(mode(p)) for p in written} == {p: oct(0o600) for p in written}


#: About 1 s of CPU, all of it while holding 200 MiB: dd reads /dev/zero into one 200 MiB buffer 30 times (the
#: kernel clears the buffer's pages at each read), long enough for a scheduler that samples each second to see it.
#: Then the shell's own times and its children's (`times`: user and system, twice): the truth the figures are
#: held to.
# About 2.5 s of CPU holding 200 MiB: Slurm samples a job's memory once a second (jobacct_gather/linux), and a
# peak of under a second (30 blocks took 0.8 s on a quiet machine) was missed there.
BURN = "dd if=/dev/zero of=/dev/null bs=200M count=100 2>/dev/null; times"
TOUCHED_KIB = 200 * 1024


def seconds(times_output: str) -> float:
    """The sum of the four times `times` prints ("0m1.23s" or "0m1.230000s")."""
    found = re.findall(r"(\d+)m([\d.]+)s", times_output)
    assert len(found) == 4, times_output
    return sum(int(m) * 60 + float(s) for m, s in found)


@case("accounting")
def test_cpu_time_and_max_rss_are_the_job_s(target: Target) -> None:
    job = target.submit("sh", "-c", BURN)
    assert target.wait(job) == 0
    truth = seconds(target("logs", job).text)
    assert truth > 0.5, truth  # it did burn the CPU it is to be measured by
    refusal = target.refused("accounting")
    if refusal is not None:
        # What a backend declares it gives only in part: no figure, or one that counts more than the job.
        info = target.info(job)
        assert info["cpu_time"] is None or info["cpu_time"] >= 0.9 * truth, (info["cpu_time"], truth)
        assert info["max_rss"] is None or info["max_rss"] >= 0.9 * TOUCHED_KIB, info["max_rss"]
        return
    # A scheduler's accounting may arrive a moment after the job's end.
    target.until(job, lambda jobs: None not in (jobs[job]["cpu_time"], jobs[job]["max_rss"]), "got its figures")
    info = target.info(job)
    assert abs(info["cpu_time"] - truth) <= 0.1 * truth, (info["cpu_time"], truth)
    assert abs(info["max_rss"] - TOUCHED_KIB) <= 0.1 * TOUCHED_KIB, info["max_rss"]

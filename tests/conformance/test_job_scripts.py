"""Job scripts with sbatch's and qsub's directives, run unchanged through `drmaa2 submit script.sh` on every
backend (contract case job-script): the same names, output files, arrays, time limits, dependencies,
environment and exit codes."""

from __future__ import annotations

import os
import shutil
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .. import jobscripts as corpus
from .conftest import BACKENDS, CONTAINERS, Target, case

#: A script as a Slurm user writes it: name, output pattern with %x %A %a (standard error goes there too, as
#: sbatch does without -e), a throttled array, a time limit.
SBATCH_SCRIPT = """\
#!/bin/sh
#SBATCH --job-name=sb-job
#SBATCH --output=%x-%A-%a.out
#SBATCH --array=1-3%2
#SBATCH --time=00:05:00

# A comment and a blank line end nothing; the first command ends the directives.
echo "task $DRMAA2_TASK_ID of $DRMAA2_JOB_ID, arg $1"
echo "warning $DRMAA2_TASK_ID" >&2
#SBATCH --time=1
[ "$DRMAA2_TASK_ID" != 3 ] || exit 3
"""

#: A script as a Grid Engine user writes it: name, joined output with $JOB_ID, a time limit in h_rt, a dependency,
#: a variable whose value holds a comma; and a #DRMAA2 line with drmaa2's own syntax.
QSUB_SCRIPT = """\
#!/bin/sh
#$ -N qs-job
#$ -o qs.$JOB_ID.out
#$ -j y
#$ -l h_rt=0:10:0
#$ -hold_jid {after}
#$ -v GREETING=hello\\,world,EMPTY=
#DRMAA2 --env SECOND=2
echo "$GREETING $SECOND [$EMPTY] $1"
echo to-stderr >&2
exit 4
"""


def write(target: Target, name: str, text: str) -> Path:
    path = target.workdir / name
    path.write_text(text)
    path.chmod(0o644)  # not executable: a script runs with its interpreter all the same
    return path


def submit(target: Target, *words: str) -> tuple[int, str, str]:
    r = target("submit", "--terse", *target.job_options(), *words, cwd=target.workdir)
    return r.code, r.text.strip(), r.err


@case("job-script")
def test_sbatch_and_qsub_scripts_run_unchanged(target: Target) -> None:
    write(target, "sb.sh", SBATCH_SCRIPT)
    code, array, err = submit(target, "sb.sh", "first")
    if target.refused("job-script"):  # in part: the directives it cannot honour are refused, by line
        assert code == 201 and err.strip() == err.strip().splitlines()[0], err
        assert err.startswith("drmaa2: sb.sh, line 3: #SBATCH --output"), err
        return
    assert code == 0, err
    write(target, "sb.sh", "exit 99\n")  # the job runs the script as it was at submission
    write(target, "qs.sh", QSUB_SCRIPT.format(after=array))
    code, job, err = submit(target, "qs.sh", "second")
    assert code == 0, err
    # afterok on a job that fails (qs.sh exits 4): ends failed without starting, on every backend
    write(target, "late.sh", f"#SBATCH -J late\n#SBATCH --dependency=afterok:{job}\ntouch never-ran\n")
    code, late, err = submit(target, "late.sh")
    assert code == 0, err
    assert target.wait(array) == 3
    assert target.wait(job) == 4
    assert target.wait(late) == 207
    assert target.info(late)["state"] == "failed" and not (target.workdir / "never-ran").exists()
    tasks = target.tasks(array)
    assert sorted(tasks) == [f"{array}.{i}" for i in (1, 2, 3)]
    assert {t["name"] for t in tasks.values()} == {"sb-job"}
    assert [tasks[f"{array}.{i}"]["exit_status"] for i in (1, 2, 3)] == [0, 0, 3]
    assert timeout_shown(target, f"{array}.1") == "5m00s"
    for i in (1, 2, 3):
        out = target.workdir / f"sb-job-{array}-{i}.out"
        lines = sorted(out.read_text().splitlines(keepends=True))  # docker: the streams' order is its reader's
        assert lines == [f"task {i} of {array}, arg first\n", f"warning {i}\n"], lines
        assert os.stat(out).st_mode & 0o777 == 0o600
    info = target.info(job)
    assert (info["name"], info["state"], info["exit_status"]) == ("qs-job", "failed", 4)
    assert timeout_shown(target, job) == "10m00s"
    assert epoch(info["dispatch_time"]) >= max(epoch(t["finish_time"]) for t in tasks.values())
    # Both streams in one file (-j y); docker writes them in the order its log reader takes them.
    joined = (target.workdir / f"qs.{job}.out").read_text()
    assert sorted(joined.splitlines(keepends=True)) == ["hello,world 2 [] second\n", "to-stderr\n"], joined


#: A script with the directives every backend honours, run by an interpreter that is not a shell (on docker and
#: cf it travels in the command line and is written to a temporary file first).
AWK_SCRIPT = """\
#!/bin/awk -f
#SBATCH --job-name=awk-job
#SBATCH --array=1-2
#DRMAA2 --hold
BEGIN { print "awk", ENVIRON["DRMAA2_TASK_ID"], ARGV[1], ARGV[2]; exit 3 }
"""


@case("job-script")
def test_a_portable_script_with_another_interpreter(target: Target) -> None:
    write(target, "job.awk", AWK_SCRIPT)
    code, array, err = submit(target, "job.awk", "a b", "$c")
    assert code == 0, err
    target.until_state(array, "queued_held")
    assert target("release", array).code == 0
    assert target.wait(array) == 3
    for i in (1, 2):
        task = f"{array}.{i}"
        assert target("logs", task).out == f"awk {i} a b $c\n".encode()
        assert target.info(task)["name"] == "awk-job"


@case("job-script")
def test_a_directive_the_backend_cannot_honour_names_its_line(target: Target) -> None:
    foreign = "#SBATCH --gres=gpu:1" if target.backend != "slurm" else "#$ -l gpu=1"
    write(target, "odd.sh", f"#!/bin/sh\n#SBATCH -J odd\n{foreign}\necho hi\n")
    r = target("submit", *target.job_options(), "odd.sh", cwd=target.workdir)
    assert r.code == 201, r.err
    assert r.err.strip().splitlines() == [r.err.strip()]
    assert f"odd.sh, line 3: {foreign}" in r.err, r.err


@case("array-list")
def test_arrays_as_sbatch_lists_them(target: Target) -> None:
    options = ("--array", "0,2-3%2")
    if target.refused("array-list"):
        r = target("submit", *target.job_options(), *options, "--", "true")
        target.check_refusal("array-list", r)
        assert "array" in r.err, r.err
        return
    array = target.submit("sh", "-c", "exit $DRMAA2_TASK_ID", options=options)
    assert target.wait(array) == 3
    tasks = target.tasks(array)
    assert {i: t["exit_status"] for i, t in tasks.items()} == {f"{array}.0": 0, f"{array}.2": 2, f"{array}.3": 3}


@case("environment")
def test_environment_as_qsub_and_sbatch_write_it(target: Target) -> None:
    target.env["FROM_CALLER"] = "caller's value"
    if target.refused("environment"):
        target.check_refusal("environment", target("submit", *target.job_options(), "-v", "A=1", "--", "true"))
        target.check_refusal("environment", target("submit", *target.job_options(), "-V", "--", "true"))
    else:
        listed = target.submit("sh", "-c", 'echo "$A|$B|$FROM_CALLER"', options=("-v", r"A=1,B=x\,y,FROM_CALLER"))
        everything = target.submit("sh", "-c", 'echo "$FROM_CALLER"', options=("-V",))
        assert (target.wait(listed), target.wait(everything)) == (0, 0)
        assert target("logs", listed).out == b"1|x,y|caller's value\n"
        assert target("logs", everything).out == b"caller's value\n"
    options = ("--export", "NONE") if target.refused("environment") else ("--export", "NONE", "-v", "ONLY=1")
    empty = target.submit("env", options=options)
    assert target.wait(empty) == 0
    names = {line.split("=", 1)[0] for line in target("logs", empty).text.splitlines()}
    assert names - {"ONLY"} == {"DRMAA2_JOB_ID", "DRMAA2_SESSION"}, names
    # A script's job also keeps its scheduler's variables (drmaa2's ids off that scheduler), as sbatch's does.
    (target.workdir / "env.sh").write_text("#!/bin/sh\n#SBATCH --export=NONE\n#SBATCH -J env-job\nenv\n")
    r = target("submit", "--terse", *target.job_options(), "env.sh", cwd=target.workdir)
    assert r.code == 0, r.err
    job = r.text.strip()
    assert target.wait(job) == 0
    seen = dict(line.split("=", 1) for line in target("logs", job).text.splitlines() if "=" in line)
    assert "FROM_CALLER" not in seen, seen
    if target.backend == "slurm":  # Slurm's own variables
        assert (seen["SLURM_JOB_ID"], seen["SLURM_JOB_NAME"]) == (target.info(job)["native_id"], "env-job"), seen
    else:
        assert (seen["SLURM_JOB_ID"], seen["SLURM_JOB_NAME"], seen["SLURM_SUBMIT_DIR"], seen["SLURM_NTASKS"]) == (
            job, "env-job", str(target.workdir), "1"), seen


def timeout_shown(target: Target, job_id: str) -> str | None:
    """The time limit `status ID` shows for the job (the JSON document does not carry it)."""
    r = target("status", job_id)
    assert r.code == 0, r.err
    return next((line.split()[1] for line in r.text.splitlines() if line.startswith("timeout ")), None)


def epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


#: How long a backend's whole corpus may take to end once submitted (Kubernetes starts its pods one by one).
CORPUS_DEADLINE = 600


@case("job-script")
@pytest.mark.parametrize("target", [b for b in BACKENDS if b != "cf"], indirect=True)  # cf keeps no files
def test_the_guide_scripts_run_unchanged(target: Target, tmp_path: Path,
                                         record_property: Callable[[str, object], None]) -> None:
    """The whole corpus (tests/jobscripts/) on one backend: every script submitted first, then all waited for
    at once, then each checked -- the exit code, the files and what the scheduler's variables held -- or its
    refusal, where this backend (or the script's own scheduler, which gets its directives unchanged) refuses it."""
    home = tmp_path / "user-home"
    home.mkdir()
    target.env["HOME"] = str(home)  # qsub's default files go home: this test's own

    def drmaa2(args: list[str], cwd: Path) -> tuple[int, str, str]:
        r = target(*args, cwd=cwd)
        return r.code, r.text, r.err

    options = [*target.job_options(), *(bash_mounts() if target.backend in CONTAINERS else [])]
    start = time.monotonic()
    submitted = corpus.submit_all(target.workdir, drmaa2, options, target.backend)
    record_property("corpus_submit_seconds", round(time.monotonic() - start, 1))
    jobs = [s.job for s in submitted.values() if s.code == 0 and s.case.refused is None]
    records = []
    if jobs:
        target("wait", "--timeout", str(CORPUS_DEADLINE), *jobs, timeout=CORPUS_DEADLINE + 60)
        r = target("status", "--json", *jobs)
        assert r.code == 0, r.err
        records = r.json()["jobs"]
    record_property("corpus_seconds", round(time.monotonic() - start, 1))
    problems = {}
    for name, sub in submitted.items():
        values = {"job": sub.job, "own": sub.job, "dir": str(target.workdir), "home": str(home)}
        exit_code = None
        if sub.job in jobs:
            tasks = [j for j in records if j["id"] == sub.job or j["id"].startswith(f"{sub.job}.")]
            codes = [t["exit_code"] for t in tasks]
            exit_code = None if None in codes else max(codes)
            values.update(own_ids(target.backend, sub.case.family, sub.job, str(tasks[0]["native_id"])))
        found = corpus.check(sub, exit_code, values, target.workdir)
        if found:
            problems[name] = found
    assert not problems, "\n".join(f"{target.backend} {name}: {p}" for name, ps in problems.items() for p in ps)


def bash_mounts() -> list[str]:
    """The test image is busybox, which has no bash; the guides' scripts start with ``#!/bin/bash``, and a
    user's image has one. This machine's bash lends it one: the program and the C library it loads, read-only."""
    bash = os.path.realpath(shutil.which("bash") or "/bin/bash")
    lib = f"/lib/{sysconfig.get_config_var('MULTIARCH')}"
    mounts = [(bash, "/bin/bash"), (os.path.realpath(lib), lib)]
    if os.path.isdir("/lib64"):
        mounts.append((os.path.realpath("/lib64"), "/lib64"))
    return [word for src, dst in mounts for word in ("--mount", f"{src}:{dst}:ro")]


def own_ids(backend: str, family: str, job: str, native: str) -> dict[str, str]:
    """What the scheduler's own variables and default file names hold: its native ids on the script's own
    scheduler, drmaa2's elsewhere."""
    if corpus.OWNERS.get(backend) != family:
        return {"own": job, "slurm_job": job, "slurm_array": job, "ge_job": job}
    base = native.split("_")[0].split(".")[0]
    return {"own": base, "slurm_job": native, "slurm_array": base, "ge_job": base}

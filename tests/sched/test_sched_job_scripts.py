"""A job script on the scheduler that owns its directives (slurm for #SBATCH, gridengine for #$): the directives
drmaa2 does not know reach the scheduler untouched, the ones it knows are applied once, by drmaa2, with the
command line winning (the scheduler never reads the script's own lines: it runs drmaa2's wrapper)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Cli

#: Per scheduler: a directive only it understands, how to ask it about a job, what it then shows.
NATIVE = {
    "slurm": ("#SBATCH --comment=from-the-script", ["scontrol", "show", "job"], "Comment=from-the-script"),
    "gridengine": ("#$ -ac origin=script", ["qstat", "-j"], "origin=script"),
}
#: How the scheduler shows the job's name and output file.
NAME = {"slurm": "JobName={}", "gridengine": "job_name:                   {}"}


@pytest.mark.parametrize("backend", sorted(NATIVE))
def test_the_owning_scheduler_gets_its_directives_once(backend: str, request: pytest.FixtureRequest, cli: Cli,
                                                        tmp_path: Path) -> None:
    env: dict[str, str] = request.getfixturevalue(f"{backend}_env")
    native, ask, shown = NATIVE[backend]
    prefix = native.split()[0]
    name_directive = "#SBATCH -J from-script" if backend == "slurm" else "#$ -N from-script"
    (tmp_path / "job.sh").write_text(f"#!/bin/sh\n{name_directive}\n{native}\n{prefix} -o out.txt\n"
                                     f"{'#SBATCH -H' if backend == 'slurm' else '#$ -h'}\necho ran\n")
    r = cli("submit", "--terse", "--backend", backend, "-N", "from-cli", "job.sh", env=env, cwd=tmp_path)
    assert r.code == 0, r.err
    job = r.out.strip()
    info = cli.until_state(job, "queued_held")
    seen = subprocess.run([*ask, info["native_id"]], env={**cli.env, **env}, capture_output=True, text=True,
                          timeout=60)
    assert seen.returncode == 0, seen.stderr
    assert shown in seen.stdout, seen.stdout
    assert NAME[backend].format("from-cli") in seen.stdout, seen.stdout  # the command line won, once
    assert cli("release", job, env=env).code == 0
    assert cli("wait", "--timeout", "120", job, env=env, timeout=180).code == 0
    assert (tmp_path / "out.txt").read_text() == "ran\n"
    assert cli.info(job)["name"] == "from-cli"


@pytest.mark.parametrize("backend", sorted(NATIVE))
def test_the_other_schedulers_directives_are_refused(backend: str, request: pytest.FixtureRequest, cli: Cli,
                                                     tmp_path: Path) -> None:
    env: dict[str, str] = request.getfixturevalue(f"{backend}_env")
    other = "#$ -l arch=lx-amd64" if backend == "slurm" else "#SBATCH --constraint=ib"
    (tmp_path / "job.sh").write_text(f"#!/bin/sh\n{other}\necho never\n")
    r = cli("submit", "--backend", backend, "job.sh", env=env, cwd=tmp_path)
    assert r.code == 201, r.err
    assert f"job.sh, line 2: {other}: " in r.err and f"not understood on the {backend} backend" in r.err, r.err


def test_srun_in_a_process_job_never_joins_a_real_slurm_job(slurm_env: dict[str, str], cli: Cli,
                                                             tmp_path: Path) -> None:
    """A job from an sbatch script off Slurm carries SLURM_JOB_ID; on a machine with Slurm, srun must not take it
    for a real job (here: one that is running, with that very id) and start a step in it."""
    env = {**cli.env, **slurm_env}
    real = subprocess.run(["sbatch", "--parsable", "--wrap", "sleep 120", "-o", "/dev/null"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert real.returncode == 0, real.stderr
    slurm_id = real.stdout.strip().split(";")[0]
    try:
        deadline = time.monotonic() + 120
        while subprocess.run(["squeue", "-h", "-j", slurm_id, "-o", "%T"], env=env, capture_output=True, text=True,
                             timeout=60).stdout.strip() != "RUNNING":
            assert time.monotonic() < deadline, f"slurm job {slurm_id} never started"
            time.sleep(0.2)
        (tmp_path / "job.sh").write_text("#!/bin/sh\n#SBATCH -J guard\n#SBATCH -o out.txt\n"
                                         'export SLURM_JOB_ID="$1"\nsrun true\necho "srun: $?"\n')
        r = cli("submit", "--wait", "--backend", "process", "job.sh", slurm_id, env=slurm_env, cwd=tmp_path,
                timeout=120)
        assert r.code == 0, r.err
        out = (tmp_path / "out.txt").read_text()
        assert "srun: 0" not in out and "ClusterName" in out, out
        steps = subprocess.run(["squeue", "--steps", "--noheader", "--jobs", slurm_id], env=env,
                               capture_output=True, text=True, timeout=60)
        assert steps.returncode == 0 and ".0 " not in steps.stdout, steps.stdout
        # The same srun without drmaa2's guard joins the job: the test can see what it guards against.
        joined = subprocess.run(["srun", "true"], env={**env, "SLURM_JOB_ID": slurm_id}, capture_output=True,
                                text=True, timeout=60)
        assert joined.returncode == 0, joined.stderr
    finally:
        subprocess.run(["scancel", slurm_id], env=env, timeout=60)


def test_the_schedulers_own_file_names_in_its_own_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A script with no output directive on its own scheduler: the scheduler's default name, with the id in the
    scheduler's own syntax (filled by it) and in the record once known; private files without the job's umask
    changing (Slurm: SLURM_UMASK for sbatch, the submitter's umask back in the job script; Grid Engine: the job
    script makes its files 0600)."""
    from drmaa2cli.backends.sched import NATIVE_ID, common, gridengine, gridengine_cmd, slurm_cmd
    from drmaa2cli.jobscript import environment, requests
    from drmaa2cli.models import JobInfo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for family, backend, array, expected in [
        ("sbatch", "slurm", None, {"cwd": str(tmp_path), "output_path": f"{tmp_path}/slurm-{NATIVE_ID}.out"}),
        ("sbatch", "process", "1-2", {"cwd": str(tmp_path), "output_path": f"{tmp_path}/slurm-%A_%a.out"}),
        ("qsub", "gridengine", "1-2", {"output_path": f"{tmp_path}/home/n.o{NATIVE_ID}",
                                       "error_path": f"{tmp_path}/home/n.e{NATIVE_ID}"}),
        ("qsub", "process", None, {"output_path": f"{tmp_path}/home/n.o%A",
                                   "error_path": f"{tmp_path}/home/n.e%A"}),
    ]:
        options = {"name": "n", **({"array": array} if array else {})}
        environment.default_paths(family, options, requests.declared(backend))
        assert {k: v for k, v in options.items() if k not in ("name", "array")} == expected, (family, backend)
    assert slurm_cmd.slurm_path(f"/w/slurm-{NATIVE_ID}.out") == "/w/slurm-%j.out"
    assert slurm_cmd.slurm_path(f"/w/slurm-{NATIVE_ID}.out", array=True) == "/w/slurm-%A_%a.out"
    assert gridengine_cmd.sge_path(f"/h/n.o{NATIVE_ID}") == "/h/n.o$JOB_ID"
    assert gridengine_cmd.sge_path(f"/h/n.e{NATIVE_ID}", array=True) == "/h/n.e$JOB_ID.$TASK_ID"
    paths = common.Paths("/w", f"/h/n.o{NATIVE_ID}", "/w/err")
    assert gridengine.private_streams(paths) == ('"$SGE_STDOUT_PATH"',)
    script = common.job_script(common.JobSpec("1", "s", ["true"], private=('"$SGE_STDOUT_PATH"',), umask=0o22))
    assert b'[ -f "$SGE_STDOUT_PATH" ] && [ ! -L "$SGE_STDOUT_PATH" ] && chmod 600' in script
    assert b"\numask 0022\n" in script
    # The record: the scheduler's id in the paths it named, the file there made private (not emptied).
    out = tmp_path / "n.o77"
    out.write_text("early\n")
    out.chmod(0o644)
    job = JobInfo(id="3", session="s", backend="gridengine", output_path=str(tmp_path / f"n.o{NATIVE_ID}"),
                  error_path="/dev/null")
    named = common.named(job, "77")
    assert (named.native_id, named.output_path, named.error_path) == ("77", str(out), "/dev/null")
    assert out.read_text() == "early\n" and out.stat().st_mode & 0o777 == 0o600

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

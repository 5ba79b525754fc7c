"""What every engine answers alike where the platforms differ: a missing image, a job the platform rejects, the log
of a killed job (contract cases image-missing, rejected, killed-log)."""

from __future__ import annotations

from .conftest import Target, case

MISSING = "drmaa2-test/no-such:1"
#: A job that says it is ready, then waits; on SIGTERM it says so and exits 42.
TRAPS = 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 1; done'


def one_line(err: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("drmaa2: ")


def no_records(target: Target) -> bool:
    r = target("status", "--json", "--all")
    return r.code == 0 and r.json()["jobs"] == []


@case("image-missing")
def test_a_missing_image(target: Target) -> None:
    options = target.job_options()
    if "--image" in options:
        options[options.index("--image") + 1] = MISSING
    else:
        options += ["--image", MISSING]
    refusal = target.refused("image-missing")
    if refusal is not None and refusal.code is not None:  # no images at all
        target.check_refusal("image-missing", target("submit", *options, "--", "true"))
        assert no_records(target)
        return
    if refusal is None:
        r = target("submit", *options, "--", "true")
        assert r.code == 201 and one_line(r.err) and MISSING in r.err, (r.code, r.err)
        assert no_records(target)
        return
    # Only the node finds out, when it pulls: the job fails then, and --wait returns.
    r = target("submit", "--wait", *options, "--", "true")
    assert r.code == 207 and one_line(r.err), (r.code, r.err)
    (info,) = target("status", "--json", "--all").json()["jobs"]
    assert (info["state"], info["exit_status"], info["dispatch_time"]) == ("failed", None, None), info
    assert info["annotation"].startswith(f"cannot pull image {MISSING}: "), info


@case("rejected")
def test_a_job_the_platform_rejects(target: Target) -> None:
    r = target("submit", *target.job_options(), "--queue", "no-such-queue", "--", "true")
    assert r.code == 201 and one_line(r.err) and "no-such-queue" in r.err, (r.code, r.err)
    assert no_records(target)


@case("killed-log")
def test_the_log_of_a_killed_job(target: Target) -> None:
    job = target.submit("sh", "-c", TRAPS)
    target.until(job, lambda jobs: target("logs", job).out == b"ready\n", "printed ready")
    assert target("kill", job).code == 0
    code = target.wait(job)
    info, out = target.info(job), target("logs", job).out
    if target.refused("kill") is None:
        assert (code, info["exit_status"], out) == (42, 42, b"ready\ngot-term\n"), (info, out)
    else:
        # Not told whether SIGKILL came before the trap ran (Cloud Foundry's stand-in sends it 2 s after
        # SIGTERM): the log holds the job's own lines, whichever it printed.
        assert out in (b"ready\n", b"ready\ngot-term\n"), (info, out)

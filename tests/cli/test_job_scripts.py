"""Job scripts and what sbatch and qsub users type: the parsers (durations, arrays, variable lists,
directives) and the process backend through the real CLI (the same scripts on every backend: the conformance
case job-script)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from drmaa2cli import jobscript, parsing
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import ArraySpec
from tests.conftest import Cli


# --- parsers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("1h30m", 5400), ("1d2h", 93600), ("500ms", 0.5), ("1.5m", 90),
    ("01:30:00", 5400), ("5:00", 300), ("0:07", 7), ("1-00:00:00", 86400), ("2-3", 2 * 86400 + 3 * 3600),
    ("1-2:30", 86400 + 2 * 3600 + 1800),
])
def test_durations_as_people_and_schedulers_write_them(text: str, seconds: float) -> None:
    assert parsing.duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1h1h", "1:2:3:4", "-5", "5x", "1h 30", "1--2"])
def test_malformed_durations_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(InvalidArgument, match="--timeout: invalid duration"):
        parsing.duration(text)


def test_a_bare_number_means_what_the_directive_means() -> None:
    assert jobscript.sbatch(["--time=5"]) == {"timeout": "300s"}  # sbatch: minutes
    assert jobscript.sbatch(["-t", "1:30"]) == {"timeout": "90s"}  # minutes:seconds
    assert jobscript.qsub(["-l", "h_rt=5"]) == {"timeout": "5s"}  # h_rt: seconds
    assert jobscript.qsub(["-l", "h_rt=1:00:00"]) == {"timeout": "3600s"}
    assert parsing.duration("5") == 5  # the command line: seconds, as --help says
    assert "bare number is seconds" in parsing.DURATION_HELP


@pytest.mark.parametrize(("text", "spec"), [
    ("1-15", ArraySpec(1, 15)), ("1-9:2%3", ArraySpec(1, 9, 2, 3)), ("4", ArraySpec(4, 4)),
    ("1-4%2", ArraySpec(1, 4, 1, 2)), ("0-15", ArraySpec(0, 15)), ("1-9%0", ArraySpec(1, 9, 1, 0)),  # no limit
    ("1,3,5-9", ArraySpec(1, 9, 1, None, (1, 3, 5, 6, 7, 8, 9))),
    ("9,0-4:2%2", ArraySpec(0, 9, 1, 2, (0, 2, 4, 9))),
])
def test_arrays_as_sbatch_writes_them(text: str, spec: ArraySpec) -> None:
    assert parsing.array(text) == spec


@pytest.mark.parametrize("text", ["", "a", "1-", "3-1", "1,,2", "1-9:0", "1%2%3", "1-200000"])
def test_malformed_arrays_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(InvalidArgument, match="--array"):
        parsing.array(text)


def test_schedulers_get_the_list_in_their_own_form() -> None:
    from drmaa2cli.backends.sched import gridengine_cmd, slurm_cmd
    from drmaa2cli.backends.sched.common import Paths
    from drmaa2cli.models import JobTemplate

    assert slurm_cmd.index_list((0, 2, 3, 4, 9)) == "0,2-4,9"
    paths = Paths("/tmp", "/tmp/out", None)
    spec = parsing.array("0,2-4%2")
    command = slurm_cmd.build_submit_command(JobTemplate("true"), paths, job_name="j", array=spec)
    assert "--array=0,2-4%2" in command
    for text in ("1,3", "0-3"):
        with pytest.raises(InvalidArgument, match="grid engine array"):
            spec = parsing.array(text)
            gridengine_cmd.build_submit_command(JobTemplate("true"), paths, job_name="j", array=spec)


def test_variable_lists_as_qsub_writes_them() -> None:
    assert parsing.variable_list("A=1,B=2,C") == ["A=1", "B=2", "C"]
    assert parsing.variable_list(r"LIST=a\,b,PATHS=c\\,D=") == ["LIST=a,b", "PATHS=c\\", "D="]
    assert parsing.variable_list(r"RE=a\d") == [r"RE=a\d"]  # only \, and \\ are escapes


def test_interpreter_comes_from_the_shebang_line() -> None:
    assert jobscript.interpreter("#!/bin/bash") == ["/bin/bash"]
    assert jobscript.interpreter("#! /usr/bin/env python3") == ["/usr/bin/env", "python3"]
    assert jobscript.interpreter("#!/bin/bash -l -x") == ["/bin/bash", "-l -x"]  # one argument, as Linux
    assert jobscript.interpreter("echo hi") == ["/bin/sh"]


def test_directives_end_with_the_leading_comment_block() -> None:
    text = (b"#!/bin/sh\n#SBATCH -J a\n\n# note\n#$ -N b # trailing comment\n#DRMAA2 --env 'X=a b'\necho\n"
            b"#SBATCH -J late\n")
    script = jobscript.parse("s.sh", text)
    assert [(d.line, d.prefix, d.words) for d in script.directives] == [
        (2, "#SBATCH", ["-J", "a"]), (5, "#$", ["-N", "b"]), (6, "#DRMAA2", ["--env", "X=a b"])]


def test_sbatch_directives_become_submit_options() -> None:
    assert jobscript.sbatch(["--job-name=x", "-o", "o-%x-%j.%A_%a", "-e", "e%%"]) == {
        "name": "x", "output_path": "o-\0NAME\0-%j.%A_%a", "error_path": "e%%"}
    assert jobscript.sbatch(["-a", "1-9:2%3", "-H", "-c", "2", "-p", "short", "-D", "/tmp"]) == {
        "array": "1-9:2%3", "hold": True, "cpus": "2", "queue": "short", "cwd": "/tmp"}
    assert jobscript.sbatch(["-Jglued"]) == {"name": "glued"}
    assert jobscript.sbatch(["--mem=512"]) == {"memory": "512m"}
    assert jobscript.sbatch(["--mem", "2G"]) == {"memory": "2G"}
    assert jobscript.sbatch(["-d", "afterok:3:4"]) == {"after": ["3", "4"]}
    assert jobscript.sbatch(["--dependency=afterany:5"]) == {"after_any": ["5"]}
    assert jobscript.sbatch(["--export=NONE"]) == {"export_all": False}
    assert jobscript.sbatch(["--export=ALL,A=1"]) == {"export_all": True, "env": ["A=1"]}
    assert jobscript.sbatch(["--gres=gpu:1"]) is None  # not drmaa2's: the scheduler's own
    assert jobscript.sbatch(["-N", "2"]) is None  # sbatch's -N is --nodes
    with pytest.raises(InvalidArgument, match="%N"):
        jobscript.sbatch(["-o", "out-%N"])
    with pytest.raises(InvalidArgument, match="afterok"):
        jobscript.sbatch(["-d", "singleton"])


def test_qsub_directives_become_submit_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert jobscript.qsub(["-N", "q", "-o", "out.$JOB_ID.$TASK_ID", "-j", "y", "-cwd"]) == {
        "name": "q", "output_path": "out.%A.%a", "join": True, "cwd": str(tmp_path)}
    assert jobscript.qsub(["-l", "h_rt=0:1:0,h_vmem=1G"]) == {"timeout": "60s", "memory": "1G"}
    assert jobscript.qsub(["-l", "mem_free=1073741824"]) == {"memory": "1024m"}  # bare: bytes
    assert jobscript.qsub(["-pe", "smp", "4"]) == {"cpus": "4"}
    assert jobscript.qsub(["-hold_jid", "3,4", "-h", "-q", "all.q"]) == {
        "after_any": ["3", "4"], "hold": True, "queue": "all.q"}
    assert jobscript.qsub(["-v", "A=1,B=x\\,y", "-V"]) == {"variables": ["A=1,B=x\\,y"], "export_all": True}
    assert jobscript.qsub(["-o", "$JOB_NAME.log"]) == {"output_path": "\0NAME\0.log"}
    assert jobscript.qsub(["-l", "gpu=1"]) is None
    assert jobscript.qsub(["-pe", "mpi", "4"]) is None
    with pytest.raises(InvalidArgument, match=r"\$HOME"):
        jobscript.qsub(["-o", "$HOME/x"])


def test_qsub_shell_directive_sets_the_interpreter() -> None:
    script = jobscript.apply(jobscript.parse("s", b"#!/bin/sh\n#$ -S /bin/bash\necho\n"), lambda words: {})
    assert script.interpreter == ["/bin/bash"] and script.options == {}


def test_an_array_throttle_joins_its_array() -> None:
    script = jobscript.apply(jobscript.parse("s", b"#$ -t 1-10:2\n#$ -tc 3\ntrue\n"), lambda words: {})
    assert script.options == {"array": "1-10:2%3"}
    with pytest.raises(InvalidArgument, match="line 1: #\\$ -tc 3: -tc needs an array"):
        jobscript.apply(jobscript.parse("s", b"#$ -tc 3\ntrue\n"), lambda words: {})


def test_later_directives_win_and_the_command_line_wins_over_all() -> None:
    script = jobscript.apply(jobscript.parse("s", b"#SBATCH -J a -t 5\n#$ -N b\n#DRMAA2 -x\ntrue\n"),
                             lambda words: {"env": ["X=1"]})
    assert script.options == {"name": "b", "timeout": "300s", "env": ["X=1"], "join": True}  # sbatch joins
    merged = jobscript.merge({"name": "cli", "timeout": None, "env": ["Y=2"]}, script)
    assert merged == {"name": "cli", "timeout": "300s", "env": ["X=1", "Y=2"], "join": True}
    assert "join" not in jobscript.merge({"error_path": "e"}, script)  # -e given: not joined
    script = jobscript.apply(jobscript.parse("s", b"#SBATCH -e err\ntrue\n"), lambda words: {})
    assert "join" not in script.options


# --- the process backend, through the CLI ------------------------------------------------------------------
def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_script_in_the_working_directory_runs_from_a_copy(cli: Cli, tmp_path: Path) -> None:
    script = write(tmp_path / "job.sh", "#!/bin/sh\n#SBATCH -J first\n#SBATCH -o out-%x-%j.txt\necho one \"$@\"\n")
    r = cli("submit", "--terse", "--hold", "job.sh", "a b", "", cwd=tmp_path)
    assert r.code == 0, r.err
    job = r.out.strip()
    write(script, "#!/bin/sh\necho edited\n")  # as sbatch: the queued job keeps the script it was given
    assert cli("release", job).code == 0
    assert cli("wait", job).code == 0
    assert (tmp_path / f"out-first-{job}.txt").read_text() == "one a b \n"
    info = cli.info(job)
    assert info["name"] == "first"
    copy = Path(info["command"][1])
    assert copy.parent == cli.home / "scripts"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(copy.parent.stat().st_mode) == 0o700


def test_a_script_without_shebang_runs_with_sh_and_its_name_names_the_job(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "plain", "echo \"$0\" | grep -q scripts && echo from-sh\n", mode=0o600)
    r = cli("submit", "--wait", "--terse", str(tmp_path / "plain"))
    assert r.code == 0, r.err
    job = r.out.strip()
    assert cli("logs", job).out == "from-sh\n"
    assert cli.info(job)["name"] == "plain"


def test_another_interpreter_runs_the_script(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "job.py", f"#!{sys.executable}\n#DRMAA2 -N py --env GREETING=hi\nimport os, sys\n"
                               "print(os.environ['GREETING'], sys.argv[1:])\n")
    r = cli("submit", "--wait", "--terse", "job.py", "x", cwd=tmp_path)
    assert r.code == 0, r.err
    assert cli("logs", r.out.strip()).out == "hi ['x']\n"


def test_commands_on_path_and_binaries_stay_commands(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "echo", "echo I am the file\n")
    r = cli("submit", "--wait", "--terse", "echo", "the command", cwd=tmp_path)
    assert r.code == 0, r.err
    assert cli("logs", r.out.strip()).out == "the command\n"
    r = cli("submit", "--wait", "--terse", "/bin/echo", "binary", cwd=tmp_path)
    assert cli("logs", r.out.strip()).out == "binary\n"


def test_a_script_on_standard_input(cli: Cli) -> None:
    r = cli("submit", "--wait", "--terse", input="#SBATCH -J piped\necho from stdin\n")
    assert r.code == 0, r.err
    job = r.out.strip()
    assert cli("logs", job).out == "from stdin\n"
    assert cli.info(job)["name"] == "piped"
    r = cli("submit", "--wait", "--terse", input="echo unnamed\n")
    assert cli.info(r.out.strip())["name"] == jobscript.STDIN_NAME  # qsub's name for it
    # the command line wins over the directive
    r = cli("submit", "--wait", "--terse", "-N", "mine", input="#SBATCH -J piped\necho x\n")
    assert cli.info(r.out.strip())["name"] == "mine"
    r = cli("submit", input="")
    assert (r.code, r.err.strip()) == (201, "drmaa2: no command given: put the command after `--`")


def test_directives_drmaa2_cannot_honour_are_refused_naming_their_line(cli: Cli, tmp_path: Path) -> None:
    cases = {
        "#$ -q all.q": "the process backend cannot honour it (queue name)",
        "#SBATCH --constraint=x": "not understood on the process backend",
        "#DRMAA2 --no-such-option": "No such option",
        "#DRMAA2 -- true": "holds options, not a command",
        "#SBATCH -t soon": "invalid duration",
        "#SBATCH -J 'unclosed": "No closing quotation",
    }
    for directive, words in cases.items():
        write(tmp_path / "bad.sh", f"#!/bin/sh\n#SBATCH -J bad\n{directive}\necho never\n")
        r = cli("submit", "bad.sh", cwd=tmp_path)
        assert r.code == 201, (directive, r.err)
        assert r.err.startswith("drmaa2: bad.sh, line 3: ") and words in r.err, (directive, r.err)
        assert len(r.err.strip().splitlines()) == 1, r.err
    assert cli("status", "--json").json()["jobs"] == []
    # A memory limit needs a cgroup on the process backend: without one it is refused when the job is prepared
    # (the backend's own words; the directive's line is not known there).
    cli.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (cli.home / "config.toml").write_text("[backends.process]\ncgroup = false\n")
    write(tmp_path / "bad.sh", "#!/bin/sh\n#SBATCH -J bad\n#SBATCH --mem=1G\necho never\n")
    r = cli("submit", "bad.sh", cwd=tmp_path)
    assert r.code == 201 and "--memory without a cgroup" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1, r.err


def test_what_a_backend_cannot_honour_is_found_before_submitting() -> None:
    from drmaa2cli.errors import UnsupportedAttribute

    def check(text: bytes, unsupported: tuple[str, ...]) -> list[str]:
        script = jobscript.apply(jobscript.parse("s.sh", text), lambda words: {})
        return jobscript.check_backend(script, "cf", unsupported)

    assert check(b"#SBATCH --export=NONE\ntrue\n", ("job_environment",)) == []
    for text in (b"#$ -v A=1\ntrue\n", b"#$ -V\ntrue\n", b"#SBATCH --export=A=1\ntrue\n"):
        with pytest.raises(UnsupportedAttribute, match=r"s\.sh, line 1: .*cannot honour it \(job environment"):
            check(text, ("job_environment",))
    with pytest.raises(UnsupportedAttribute, match="line 2: #SBATCH --gres=x: not understood on the cf backend"):
        check(b"#SBATCH -J a\n#SBATCH --gres=x\ntrue\n", ())


def test_help_and_dash_dash(cli: Cli, tmp_path: Path) -> None:
    r = cli("submit", "-h")
    assert r.code == 0 and "Usage: drmaa2 submit" in r.out and "bare number is seconds" in r.out
    assert cli("-h").code == 0
    for args in (["-N", "--", "true"], ["-o", "--", "echo", "hi"], ["--after", "--", "true"]):
        r = cli("submit", *args, cwd=tmp_path)
        assert r.code == 201 and "needs a value before `--`" in r.err, r.err
    assert not (tmp_path / "--").exists()
    assert cli("status", "--json").json()["jobs"] == []


def dump_env() -> list[str]:
    return ["env", "-0"]  # not python, which sets LC_CTYPE in its own environment


def test_environment_as_qsub_and_sbatch_write_it(cli: Cli) -> None:
    def seen(*options: str, env: dict[str, str] | None = None) -> dict[str, str]:
        r = cli("submit", "--wait", "--terse", *options, "--", *dump_env(), env=env)
        assert r.code == 0, r.err
        items = cli("logs", r.out.strip()).out.split("\0")
        return dict(item.split("=", 1) for item in items if item)

    env = seen("-v", r"A=1,B=x\,y", "-v", "FROM_CALLER", env={"FROM_CALLER": "c"})
    assert (env["A"], env["B"], env["FROM_CALLER"]) == ("1", "x,y", "c")
    assert seen("--env", "EXACT=a,b")["EXACT"] == "a,b"
    empty = seen("--export", "NONE", "--env", "ONLY=1", env={"FROM_CALLER": "c"})
    assert set(empty) == {"ONLY", "DRMAA2_JOB_ID", "DRMAA2_SESSION"}, empty
    assert seen("--export", "ALL,K=v")["K"] == "v"
    assert seen("-V", env={"FROM_CALLER": "c"})["FROM_CALLER"] == "c"


def test_export_none_keeps_arguments_and_array_ids(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "arr.sh", "#SBATCH --export=NONE\n#SBATCH -a 1-2\n#SBATCH -o %A.%a\n"
                               "printf '%s|' \"$DRMAA2_TASK_ID\" \"$@\" \"${HOME-unset}\"\n")
    r = cli("submit", "--terse", "arr.sh", "a b", "$x", cwd=tmp_path)
    assert r.code == 0, r.err
    assert cli("wait", r.out.strip()).code == 0
    assert (tmp_path / f"{r.out.strip()}.2").read_text() == "2|a b|$x|unset|"


def test_copies_are_private_even_with_a_loose_umask(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "s.sh", "true\n")
    old = os.umask(0)
    try:
        r = cli("submit", "--wait", "s.sh", cwd=tmp_path)
    finally:
        os.umask(old)
    assert r.code == 0, r.err
    for path in (cli.home / "scripts").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

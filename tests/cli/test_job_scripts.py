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
from drmaa2cli.backends.sched import NATIVE_ID
from drmaa2cli.errors import InvalidArgument
from drmaa2cli.models import ArraySpec
from tests import jobscripts as corpus
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
    assert jobscript.sbatch(["--gres=gpu:1"]) == {"_gres": "gpu:1"}  # requests: checked per backend
    assert jobscript.sbatch(["-N", "2", "--ntasks-per-node=2"]) == {"_nodes": "2", "_ntasks": "2"}
    assert jobscript.sbatch(["--account=x"]) == {}  # bookkeeping
    assert jobscript.sbatch(["--mail-type=END,TIME_LIMIT_80", "--mail-user=a@b"]) == {"mail_type": "END",
                                                                                   "mail_user": "a@b"}
    assert jobscript.sbatch(["--constraint=x"]) is None  # not drmaa2's: the scheduler's own
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
    assert jobscript.qsub(["-pe", "mpi", "4"]) == {"cpus": "4"}  # slots on one machine, whatever the name
    assert jobscript.qsub(["-l", "h_rt=60,arch=x86"]) is None
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
    copy = Path(next(word for word in info["command"] if word.startswith(str(cli.home))))  # under the wrapper
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
        "#$ -i in.txt -q all.q -l gpu=1": "-l gpu is not understood on the process backend",
        "#SBATCH --nodes=2": "asks for 2 nodes; a job of the process backend runs on one machine",
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

    def check(text: bytes, backend: str = "cf") -> list[str]:
        script = jobscript.apply(jobscript.parse("s.sh", text), lambda words: {})
        return jobscript.check_backend(script, backend)

    assert check(b"#SBATCH --export=NONE\ntrue\n") == []
    for text in (b"#$ -v A=1\ntrue\n", b"#$ -V\ntrue\n", b"#SBATCH --export=A=1\ntrue\n"):
        with pytest.raises(UnsupportedAttribute, match=r"s\.sh, line 1: .*cannot honour it \(job environment"):
            check(text)
    with pytest.raises(UnsupportedAttribute, match="line 2: #SBATCH --x=1: --x is not understood on the cf "):
        check(b"#SBATCH -J a\n#SBATCH --x=1\ntrue\n")
    with pytest.raises(UnsupportedAttribute, match=r"line 1: #PBS -e e\.txt: the kubernetes backend"):
        check(b"#PBS -e e.txt\ntrue\n", "kubernetes")  # a pod keeps one log
    # The owning scheduler gets what drmaa2 does not apply itself, as written
    text = b"#SBATCH -N 1 --account=a -J x --constraint=c -p q\n#$ -pe mpi 2\ntrue\n"
    assert check(text, "slurm") == ["-N", "1", "--account=a", "--constraint=c", "-p", "q"]


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


# --- the four treatments, per backend -------------------------------------------------------------------------
GUIDE_SBATCH = b"""#!/bin/bash
#SBATCH --job-name=serial
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --time=00:10:00
#SBATCH --mail-type=END,FAIL
#SBATCH --mail-user=me@example.org
#SBATCH --account=proj1
./simulate
"""


def prepared(text: bytes, backend: str, home: Path,
             **given: object) -> tuple[list[str], list[str], dict[str, object]]:
    """(command, native words, notes) and the options, as `submit` prepares a script for ``backend``."""
    script = jobscript.apply(jobscript.parse("job.sh", text), lambda words: {})
    options = jobscript.merge({"name": "job", **given}, script)
    command, native, notes = jobscript.job_command(script, [], backend, home, options)
    return command, native + notes, options


def test_a_guide_script_passes_with_one_warning_naming_the_bookkeeping(tmp_path: Path) -> None:
    _, notes, options = prepared(GUIDE_SBATCH, "process", tmp_path)
    assert notes == ["job.sh: no meaning on the process backend, ignored: line 9 #SBATCH --account=proj1"]
    assert options["cpus"] == "2" and options["timeout"] == "600s"
    assert (options["mail_type"], options["mail_user"]) == ("END,FAIL", "me@example.org")  # mail is sent
    assert not [k for k in options if k.startswith("_")]  # requests are consumed
    # On Slurm itself, what drmaa2 does not apply goes to sbatch as written, without a warning
    _, native, options = prepared(GUIDE_SBATCH, "slurm", tmp_path)
    assert native == ["--nodes=1", "--ntasks=1", "--account=proj1"]  # mail: from the options, once


def test_strict_mode_refuses_bookkeeping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drmaa2cli.errors import UnsupportedAttribute

    monkeypatch.setenv("DRMAA2_STRICT", "1")
    with pytest.raises(UnsupportedAttribute, match=r"job\.sh, line 9: #SBATCH --account=proj1: --account "
                                                   "has no meaning on the process backend"):
        prepared(GUIDE_SBATCH, "process", tmp_path)
    monkeypatch.setenv("DRMAA2_STRICT", "0")
    prepared(GUIDE_SBATCH, "process", tmp_path)
    (tmp_path / "config.toml").write_text("[jobscripts]\nstrict = true\n")
    with pytest.raises(UnsupportedAttribute, match="line 9"):
        prepared(GUIDE_SBATCH, "process", tmp_path)
    (tmp_path / "config.toml").write_text("[jobscripts]\nstrict = 1\n")
    with pytest.raises(InvalidArgument, match=r"line 2: \[jobscripts\] holds only strict"):
        prepared(GUIDE_SBATCH, "process", tmp_path)


@pytest.mark.parametrize(("directive", "backend", "reason"), [
    ("#SBATCH --nodes=4", "process", "asks for 4 nodes; a job of the process backend runs on one machine"),
    ("#SBATCH -N 2-4", "docker", "asks for 2-4 nodes"),
    ("#PBS -l select=2:ncpus=1", "kubernetes", "asks for 2 nodes"),
    ("#PBS -l nodes=3:ppn=2", "gridengine", "asks for 3 nodes"),
    ("#SBATCH --gres=gpu:1", "docker", "the docker backend cannot give a job a GPU"),
    ("#SBATCH --gres=nvme:1", "process", "cannot give a job the generic resource"),
    ("#SBATCH -n 9999", "process", f"for 9999 cores (9999 tasks x 1 cpus); this machine has {os.cpu_count()}"),
    ("#$ -l arch=lx-amd64", "process", "-l arch is not understood on the process backend"),
    ("#PBS -W umask=022", "slurm", "-W umask is not understood on the slurm backend"),
])
def test_requests_one_machine_cannot_meet_are_refused_with_line_and_reason(
        tmp_path: Path, directive: str, backend: str, reason: str) -> None:
    from drmaa2cli.errors import UnsupportedAttribute

    text = f"#!/bin/sh\n#SBATCH -J x\n{directive}\ntrue\n".encode()
    with pytest.raises(UnsupportedAttribute) as caught:
        prepared(text, backend, tmp_path)
    assert str(caught.value).startswith(f"job.sh, line 3: {directive}: ") and reason in str(caught.value), caught


def test_a_gpu_is_given_where_this_machine_has_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drmaa2cli.errors import UnsupportedAttribute
    from drmaa2cli.jobscript import requests

    text = b"#SBATCH --gres=gpu:1\ntrue\n"
    monkeypatch.setattr(requests.glob, "glob", lambda pattern: [])
    with pytest.raises(UnsupportedAttribute, match="this machine has no GPU"):
        prepared(text, "process", tmp_path)
    monkeypatch.setattr(requests.glob, "glob", lambda pattern: ["/dev/nvidia0"])
    prepared(text, "process", tmp_path)


def test_requests_become_limits(tmp_path: Path) -> None:
    _, _, options = prepared(b"#SBATCH --ntasks=2\n#SBATCH --mem-per-cpu=100M\ntrue\n", "docker", tmp_path)
    assert (options["cpus"], options["memory"]) == ("2", "200m")  # 2 tasks x 1 cpu; 100 MiB per cpu
    _, _, options = prepared(b"#PBS -l select=1:ncpus=2:mem=1gb\n#PBS -l walltime=90\ntrue\n", "process", tmp_path)
    assert (options["cpus"], options["memory"], options["timeout"]) == ("2", "1g", "90s")
    _, _, options = prepared(b"#PBS -l nodes=1:ppn=2\ntrue\n", "process", tmp_path)
    assert options["cpus"] == "2"


def test_a_partition_where_there_are_none_is_bookkeeping(tmp_path: Path) -> None:
    _, notes, options = prepared(b"#SBATCH -p compute\ntrue\n", "process", tmp_path)
    assert options["queue"] is None and notes == [
        "job.sh: no meaning on the process backend, ignored: line 1 #SBATCH -p compute"]
    (tmp_path / "config.toml").write_text("[queues.compute]\nslots = 1\n")
    _, notes, options = prepared(b"#SBATCH -p compute\ntrue\n", "process", tmp_path)
    assert options["queue"] == "compute" and notes == []  # a local queue of the config: honoured


def test_pbs_directives_become_submit_options() -> None:
    assert jobscript.pbs(["-N", "p", "-o", "out.txt", "-j", "oe", "-J", "1-4:2", "-q", "long", "-V"]) == {
        "name": "p", "output_path": "out.txt", "join": True, "array": "1-4:2", "queue": "long", "export_all": True}
    assert jobscript.pbs(["-W", "depend=afterok:12.server:13", "-v", "A=1"]) == {"after": ["12", "13"],
                                                                                 "variables": ["A=1"]}
    assert jobscript.pbs(["-l", "walltime=01:00:00,mem=2gb"]) == {"timeout": "3600s", "memory": "2g"}
    assert jobscript.pbs(["-A", "proj", "-m", "abe", "-M", "me@x"]) == {"mail_type": "FAIL,BEGIN,END",
                                                                       "mail_user": "me@x"}
    assert jobscript.pbs(["-k", "oe"]) is None
    with pytest.raises(InvalidArgument, match="oe, eo or n"):
        jobscript.pbs(["-j", "x"])


def test_the_directive_table_in_the_docs_is_current() -> None:
    from drmaa2cli.jobscript import table

    current = table.DOC.read_text()
    assert table.document(current) == current, "run python -m drmaa2cli.docgen"


# --- the corpus: guide-style scripts (run on every backend by tests/conformance/test_job_scripts.py) ---------
def test_the_corpus_is_as_large_as_promised() -> None:
    cases = [corpus.load(name) for name in corpus.NAMES]
    assert len(cases) >= 30
    assert {name[:3] for name in corpus.NAMES} == {"sb_", "ge_", "pbs"}
    assert all(case.refused or (case.exit is not None and case.files) or case.name == "sb_chain_first.sh"
               for case in cases), [c.name for c in cases if not (c.refused or c.files)]


def test_each_family_gets_its_default_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    _, _, o = prepared(b"#SBATCH -a 1-2\ntrue\n", "process", tmp_path)
    assert (o["output_path"], o["join"], o["cwd"]) == (f"{tmp_path}/slurm-%A_%a.out", True, str(tmp_path))
    _, _, o = prepared(b"#$ -N n\ntrue\n", "docker", tmp_path, name="n")
    assert (o["output_path"], o["error_path"]) == (f"{tmp_path}/h/n.o%A", f"{tmp_path}/h/n.e%A")
    _, _, o = prepared(b"#$ -cwd\n#$ -t 1-3\ntrue\n", "process", tmp_path, name="q")
    assert (o["output_path"], o["error_path"]) == (f"{tmp_path}/q.o%A.%a", f"{tmp_path}/q.e%A.%a")
    _, _, o = prepared(b"#$ -cwd\n#$ -t 1-3\ntrue\n", "gridengine", tmp_path, name="q")  # its own: its ids
    assert (o["output_path"], o["error_path"]) == (f"{tmp_path}/q.o{NATIVE_ID}", f"{tmp_path}/q.e{NATIVE_ID}")
    _, _, o = prepared(b"#PBS -N p\ntrue\n", "kubernetes", tmp_path, name="p")
    assert (o["output_path"], o.get("error_path"), o["join"]) == (f"{tmp_path}/p.o%A", None, True)  # one log
    _, _, o = prepared(b"#PBS -N p\ntrue\n", "cf", tmp_path, name="p")
    assert o.get("output_path") is None  # a task's output stays in its log
    _, _, o = prepared(b"#SBATCH -o mine.txt\ntrue\n", "process", tmp_path)
    assert o["output_path"] == "mine.txt"


def test_the_family_variables_are_set_before_the_script_off_its_scheduler(tmp_path: Path) -> None:
    command, _, _ = prepared(b"#!/bin/sh\n#SBATCH -c 2\ntrue\n", "process", tmp_path)
    assert command[:2] == ["/bin/sh", "-c"] and "SLURM_CONF=/dev/null" in command[2]
    assert "SLURM_JOBID" not in command[2] and "SLURM_NODELIST" not in command[2]  # MPI would look for srun
    command, _, _ = prepared(b"#!/bin/sh\n#SBATCH -c 2\ntrue\n", "slurm", tmp_path)
    assert command[0] == "/bin/sh" and "SLURM" not in " ".join(command)  # Slurm sets its own


def test_every_task_gets_a_private_tmpdir_removed_at_its_end(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "tmp.sh", '#$ -t 1-2\n#$ -o tmp.$TASK_ID\nstat -c "%a %n" "$TMPDIR"\nmkdir "$TMPDIR/d"\n'
                               'touch "$TMPDIR/d/f"\nln -s / "$TMPDIR/root"\n')
    r = cli("submit", "--terse", "tmp.sh", cwd=tmp_path)
    assert r.code == 0, r.err
    assert cli("wait", r.out.strip()).code == 0
    seen = [(tmp_path / f"tmp.{i}").read_text().split() for i in (1, 2)]
    assert [mode for mode, _ in seen] == ["700", "700"] and seen[0][1] != seen[1][1], seen
    assert not any(os.path.exists(path) for _, path in seen), seen  # removed, the link not followed


def test_the_strict_option_refuses_bookkeeping_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_bytes(b"#!/bin/sh\n#SBATCH --ntasks=1\n#SBATCH --account=proj1\necho done\n")
    r = cli("submit", "--strict", str(script))
    assert r.code == 201 and r.err.count("\n") == 1 and "line 3: #SBATCH --account=proj1" in r.err, r.err
    r = cli("submit", "--terse", str(script))
    assert r.code == 0 and "ignored: line 3 #SBATCH --account=proj1" in r.err, r.err
    assert cli("wait", r.out.strip()).code == 0


def test_a_script_sent_inline_to_another_interpreter_leaves_no_file(tmp_path: Path) -> None:
    """Where the job does not see the submit host's files, a script for another interpreter travels in the
    command line; the file the job's /bin/sh writes for it is gone before the interpreter starts."""
    import subprocess

    text = b"#!/usr/bin/env python3\nimport sys\nprint(sys.argv[1:], open(sys.argv[0]).read(9))\nsys.exit(4)\n"
    argv = jobscript.argv_inline(jobscript.parse("job.py", text), ["a b", "$c"])
    done = subprocess.run(argv, capture_output=True, env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=30)
    assert (done.returncode, done.stdout) == (4, b"['a b', '$c'] #!/usr/bi\n"), done.stderr
    assert list(tmp_path.iterdir()) == []

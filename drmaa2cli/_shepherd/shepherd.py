"""Per-job supervisor of the process backend (Grid Engine's shepherd is the model).

Runs as ``python -I -S`` with the standard library only (a few MB while it waits), detached in its own
session so that neither the submitting CLI's exit nor its terminal closing touches it. Protocol:

* stdin: the job spec as JSON, sent by ``drmaa2 submit`` only after the job's record is committed. EOF
  without a spec means the submitter died first: exit without starting anything.
* ``RUN/ID.start``: written once the job process exists (pid, its /proc start time, dispatch time).
* ``RUN/ID.exit``: written when the job ended (exit status, signal, rusage, annotation); the shepherd exits
  right after, which is what ``drmaa2 wait`` is woken by (pidfd).
* SIGUSR1: "read RUN/ID.kill and send that signal to the job's process group" (``drmaa2 kill``); SIGTERM:
  terminate the job gracefully. A graceful terminate escalates to SIGKILL after ``grace`` seconds.
"""

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1)


def write_json(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(data).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def proc_start(pid: int) -> int | None:
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def signame(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return "signal %d" % num


class Shepherd:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        base = os.path.join(spec["run_dir"], spec["id"])
        self.start_path = base + ".start"
        self.exit_path = base + ".exit"
        self.kill_path = base + ".kill"
        self.pid: int | None = None
        self.grace = float(spec.get("grace", 5.0))
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.killed_with: int | None = None
        self.timed_out = False
        self.cancelled = False

    # --- timers: one ITIMER_REAL shared by the deadline and the SIGKILL escalation --------------------
    def schedule(self, delay: float, action: Callable[[], None]) -> None:
        self.timers.append((time.monotonic() + delay, action))
        self.timers.sort(key=lambda t: t[0])
        self.arm()

    def arm(self) -> None:
        if self.timers:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, self.timers[0][0] - time.monotonic()))

    def on_alarm(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now + 0.0005:
            _, action = self.timers.pop(0)
            action()
        self.arm()

    def killpg(self, sig: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def terminate(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig``; for SIGTERM, escalate to SIGKILL after the grace period."""
        self.killpg(sig)
        if sig == signal.SIGTERM:
            self.schedule(self.grace, lambda: self.killpg(signal.SIGKILL))

    def on_kill_request(self, signum: int, frame: object) -> None:
        sig: int = signal.SIGTERM
        try:
            with open(self.kill_path) as f:
                sig = int(json.load(f).get("signal") or signal.SIGTERM)
        except (OSError, ValueError):
            pass
        self.killed_with = sig
        if self.pid is None:
            self.cancelled = True
        else:
            self.terminate(sig)

    def on_term(self, signum: int, frame: object) -> None:
        self.killed_with = signal.SIGTERM
        if self.pid is None:
            self.cancelled = True
        else:
            self.terminate()

    def on_timeout(self) -> None:
        self.timed_out = True
        self.terminate()

    # --- the job ---------------------------------------------------------------------------------------
    def finish(self, **result: Any) -> None:
        result["finish_time"] = time.time()
        write_json(self.exit_path, result)

    def open_stdio(self) -> list[int]:
        spec = self.spec
        fds = [os.open(spec.get("stdin") or os.devnull, os.O_RDONLY)]
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if spec.get("append") else os.O_TRUNC)
        out = os.open(spec["stdout"], flags, 0o600)
        fds.append(out)
        if spec.get("stderr") and spec["stderr"] != spec["stdout"]:
            fds.append(os.open(spec["stderr"], flags, 0o600))
        else:
            fds.append(out)
        return fds

    def run(self) -> None:
        spec = self.spec
        signal.signal(signal.SIGUSR1, self.on_kill_request)
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGALRM, self.on_alarm)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            fds = self.open_stdio()
        except OSError as e:
            return self.finish(exit_status=None, annotation="cannot open %s: %s" % (e.filename, e.strerror))
        if self.cancelled:
            return self.finish(annotation="killed before it started")
        env = dict(os.environ)
        env.update(spec.get("env", {}))
        os.environ.clear()
        os.environ.update(env)  # posix_spawnp searches the job's own PATH
        argv = spec["argv"]
        if spec.get("cwd"):
            try:
                os.chdir(spec["cwd"])
            except OSError as e:
                reason = "cannot enter working directory %s: %s" % (spec["cwd"], e.strerror)
                return self.finish(annotation=reason)
        try:
            self.pid = os.posix_spawnp(
                argv[0],
                argv,
                env,
                file_actions=[(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(fds)],
                setpgroup=0,
                setsigdef=RESET_SIGNALS,
            )
        except OSError as e:
            if e.errno == 2:
                return self.finish(exit_status=127, annotation="command not found: %s" % argv[0])
            return self.finish(exit_status=126, annotation="cannot run %s: %s" % (argv[0], e.strerror))
        dispatch = time.time()
        for fd in set(fds):
            os.close(fd)
        write_json(
            self.start_path,
            {"pid": self.pid, "proc_start": proc_start(self.pid), "dispatch_time": dispatch},
        )
        if spec.get("timeout"):
            self.schedule(float(spec["timeout"]), self.on_timeout)
        _, status, usage = os.wait4(self.pid, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        result: dict[str, Any] = {
            "exit_status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_time": usage.ru_utime + usage.ru_stime,
            "max_rss": usage.ru_maxrss,
        }
        if self.timed_out:
            result["annotation"] = "timed out after %gs" % float(spec["timeout"])
        elif self.killed_with is not None:
            result["annotation"] = "killed by drmaa2 kill (%s)" % signame(self.killed_with)
        elif result["signal"] is not None:
            result["annotation"] = "killed by signal %d (%s)" % (result["signal"], signame(result["signal"]))
        elif result["exit_status"]:
            result["annotation"] = "exited with status %d" % result["exit_status"]
        self.finish(**result)


def main() -> None:
    chunks = []
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    if not chunks:
        return  # the submitter exited before committing the job: nothing may start
    spec = json.loads(b"".join(chunks))
    shepherd = Shepherd(spec)
    try:
        shepherd.run()
    except Exception as e:  # the exit file is the only place anyone will look
        if not os.path.exists(shepherd.exit_path):
            shepherd.finish(annotation="supervisor error: %s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()

"""One notification event of one job: run the hook, send the mail, record what failed.

A lean helper (see ``procfs.helper_argv``): standard library only, run as ``notify.fire`` by an interpreter
under ``-I -S``, so that the process shepherd can spawn it (``posix_spawn``) without importing anything itself.
The shepherd passes the job's variables in the environment (``DRMAA2_EVENT``, ``DRMAA2_JOB_ID``,
``DRMAA2_JOB_STATE``, ``DRMAA2_EXIT_STATUS``, ...) and the orders as ``KEY=VALUE`` arguments (``ORDER_KEYS``);
the watcher (``watch.py``) calls ``notify`` in-process.

A hook or a mail never blocks or loses a job: each is bounded in time (``timeout`` seconds, then its process
group is killed) and runs after the job's state is on disk; what went wrong is one line in ``notify.log`` in
the drmaa2 home (``log``), never an error of the job.
"""

from __future__ import annotations

import os
import sys
import time

#: The orders' keys: the log file, the events that are wanted (Slurm's words, comma-separated), whether mail is
#: this process's to send ("1") and to whom, the hook's command ("" for none) and its time bound in seconds.
ORDER_KEYS = ("log", "types", "mail", "to", "command", "timeout")
#: How long a hook or sendmail may run before it is killed, unless the config says otherwise.
TIMEOUT_SECONDS = 30.0
#: The variable that sets another bound (seconds), for hooks that are known to take longer.
TIMEOUT_VARIABLE = "DRMAA2_NOTIFY_TIMEOUT"
#: Where sendmail is looked for before ``PATH`` (it lives in sbin, which a user's PATH often lacks).
SENDMAIL = ("/usr/sbin/sendmail", "/usr/lib/sendmail")


def wanted(types: str, event: str) -> bool:
    """Whether ``event`` ("begin", "end": done, "fail": failed) is one of ``types`` (comma-separated Slurm
    words: BEGIN, END, FAIL -- END covers every end, as sbatch's does)."""
    words = {w.strip().upper() for w in types.split(",") if w.strip()}
    if event == "begin":
        return "BEGIN" in words
    if event == "end":
        return "END" in words
    return "END" in words or "FAIL" in words


def sendmail_path(environ: dict[str, str] | None = None) -> str | None:
    """The machine's sendmail, or None."""
    path = (environ if environ is not None else os.environ).get("PATH", os.defpath)
    for candidate in (*SENDMAIL, *(os.path.join(d, "sendmail") for d in path.split(os.pathsep) if d)):
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def login_name() -> str:
    """The submitting user's login name: where sbatch sends mail without ``--mail-user``."""
    import pwd  # built into the interpreter

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return os.environ.get("LOGNAME") or os.environ.get("USER") or str(os.getuid())


def log(path: str, line: str) -> None:
    """Append ``line`` to the notification log (0600); a log that cannot be written is given up on."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{stamp} {line}\n".encode(errors="replace"))
        finally:
            os.close(fd)
    except OSError:
        pass


def bounded(argv: list[str], env: dict[str, str], timeout: float, data: bytes | None = None) -> str | None:
    """Run ``argv`` in a session of its own with ``data`` on stdin, at most ``timeout`` seconds (then its whole
    process group gets SIGKILL). None when it exited 0, else what went wrong in a few words (with the end of
    its stderr). Its stderr goes to an unlinked file, not a pipe: a child it left behind may hold a pipe open
    forever."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as err:
        try:
            stdin = subprocess.PIPE if data is not None else subprocess.DEVNULL
            proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        except OSError as e:
            return f"cannot run {argv[0]}: {e.strerror}"
        try:
            if data is not None:
                assert proc.stdin is not None
                try:
                    proc.stdin.write(data)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            import contextlib
            import signal

            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return f"killed after {timeout:g}s"
        if status == 0:
            return None
        err.seek(0)
        tail = err.read()[-300:].decode(errors="replace").strip().replace("\n", " | ")
        how = f"exited with status {status}" if status > 0 else f"killed by signal {-status}"
        return how + (f": {tail}" if tail else "")


def message(variables: dict[str, str], to: list[str]) -> bytes:
    """The mail for one event, headers and text."""
    job = variables.get("DRMAA2_JOB_ID", "?")
    if variables.get("DRMAA2_TASK_ID"):
        job += "." + variables["DRMAA2_TASK_ID"]
    # A name with a newline must not add a header: every character that does not print is a "?".
    name = "".join(c if c.isprintable() else "?" for c in variables.get("DRMAA2_JOB_NAME", ""))
    event = variables.get("DRMAA2_EVENT", "")
    state = variables.get("DRMAA2_JOB_STATE", "")
    status = variables.get("DRMAA2_EXIT_STATUS", "")
    what = "began" if event == "begin" else f"ended, {state}" + (f", exit status {status}" if status else "")
    subject = f"drmaa2 job {job}" + (f" ({name})" if name else "") + f" {what}"
    lines = [f"Job {job}" + (f" ({name})" if name else "") + f" {what}.", ""]
    for key in ("DRMAA2_SESSION", "DRMAA2_BACKEND", "DRMAA2_ANNOTATION"):
        if variables.get(key):
            lines.append(f"{key[7:].lower()}: {variables[key]}")
    head = [f"To: {', '.join(to)}", f"Subject: {subject}", "Auto-Submitted: auto-generated",
            "Content-Type: text/plain; charset=utf-8"]
    return ("\n".join(head) + "\n\n" + "\n".join(lines) + "\n").encode(errors="replace")


def notify(orders: dict[str, str], variables: dict[str, str], environ: dict[str, str] | None = None) -> None:
    """Do what ``orders`` ask at the event ``variables["DRMAA2_EVENT"]``: run the hook with ``variables`` over
    ``environ`` (by default this process's), and send the mail. Never raises for the hook's or mail's sake."""
    env = {**(environ if environ is not None else os.environ), **variables}
    event = variables.get("DRMAA2_EVENT", "")
    job = variables.get("DRMAA2_JOB_ID", "?") + (f".{variables['DRMAA2_TASK_ID']}"
                                                 if variables.get("DRMAA2_TASK_ID") else "")
    logfile = orders.get("log") or os.devnull
    timeout = float(orders.get("timeout") or env.get(TIMEOUT_VARIABLE) or TIMEOUT_SECONDS)
    types = orders.get("types") or ""
    command = orders.get("command") or ""
    if command and (not types or wanted(types, event)):
        failure = bounded(["/bin/sh", "-c", command], env, timeout)
        if failure is not None:
            log(logfile, f"job {job} {event}: hook {command!r} {failure}")
    if orders.get("mail") == "1" and types and wanted(types, event):
        program = sendmail_path(env)
        if program is None:
            log(logfile, f"job {job} {event}: no mail sent: this machine has no sendmail")
            return
        to = [a for a in (orders.get("to") or "").split(",") if a] or [login_name()]
        failure = bounded([program, "-t", "-i"], env, timeout, message(variables, to))
        if failure is not None:
            log(logfile, f"job {job} {event}: mail to {', '.join(to)}: sendmail {failure}")


def main() -> None:
    """``fire KEY=VALUE ...`` (``ORDER_KEYS``) with the job's variables in the environment (the shepherd's
    way). Its own variables are taken out of the hook's environment."""
    orders = dict(arg.partition("=")[::2] for arg in sys.argv[1:])
    variables = {k: v for k, v in os.environ.items() if k.startswith("DRMAA2_")}
    notify(orders, variables)


if __name__ == "__main__":
    main()

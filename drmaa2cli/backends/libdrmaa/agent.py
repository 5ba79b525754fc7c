"""The only code that loads the DRMAA v1 library: run as a script (``python agent.py OP``), never imported by
drmaa2, so that the library (and the ``drmaa`` package's ctypes) costs nothing to the other backends and a
library that must be preloaded (Grid Engine's needs ``LD_PRELOAD``, see ``_load``) gets a process of its own.
Standard library and ``drmaa`` only. One JSON object per line on stdout; complaints go to stderr.

- ``keeper``: says ``{"ready": ...}`` once its session is open; reads a first line ``{"verify": ORDERS}``
  (optional), says whether the scheduler would take that job without submitting it (``verify``); then reads
  the submission (JSON on stdin, to end-of-file: none means give up), submits it (``runJob`` or
  ``runBulkJobs``), says ``{"ids": [...]}`` and closes stdout. It then stays in the session and waits for
  every job, writing each one's result to its file: DRMAA v1 gives a job's exit status, signal and resource
  usage to a ``wait`` in a session that was open when the job ended, and to one such call only.
- ``status``/``control``: one call for many jobs (``{"ids": [...], "action": ...}`` on stdin), in a session of
  their own; Grid Engine's library answers and controls any job of the user by id.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

#: Where Grid Engine's libdrmaa finds the malloc it must be preloaded with (its static TLS is too large to be
#: loaded into a running process otherwise: "cannot allocate memory in static TLS block").
PRELOADS = ("/lib/x86_64-linux-gnu/libjemalloc.so.2", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
            "/lib/aarch64-linux-gnu/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2")
#: DRMAA's "no usage information" (NO_RUSAGE): Grid Engine's answer to a wait for a job deleted before it ran;
#: the drmaa package does not map this code to an exception class of its own.
NO_RUSAGE = "code 24"


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def fail(message: str, kind: str = "error") -> None:
    say({"error": " ".join(message.split()), "kind": kind})
    sys.exit(1)


def _load() -> Any:
    """``import drmaa``; a library that cannot be loaded into a running process (static TLS) is loaded again
    in this same program started afresh with a preloaded malloc, once."""
    if not os.environ.get("DRMAA_LIBRARY_PATH"):
        fail("DRMAA_LIBRARY_PATH is not set: it names the DRMAA v1 library (libdrmaa.so) to use", "unavailable")
    try:
        import drmaa
    except ImportError as e:
        fail(f"the drmaa package is not installed (pip install 'drmaa2[libdrmaa]'): {e}", "unavailable")
    except (OSError, RuntimeError) as e:
        text = str(e)
        if "static TLS" in text and "DRMAA2_PRELOADED" not in os.environ:
            preload = next((p for p in PRELOADS if os.path.exists(p)), None)
            if preload is not None:
                env = {**os.environ, "DRMAA2_PRELOADED": "1",
                       "LD_PRELOAD": " ".join(filter(None, (os.environ.get("LD_PRELOAD"), preload)))}
                sys.stdout.flush()
                os.execve(sys.executable, [sys.executable, *sys.argv], env)
        fail(f"the DRMAA library {os.environ['DRMAA_LIBRARY_PATH']} cannot be loaded: {text}", "unavailable")
    return drmaa


def _kind(e: BaseException) -> str:
    name = type(e).__name__
    if name in ("DrmCommunicationException", "DrmsInitException", "NoDefaultContactStringSelectedException",
                "DefaultContactStringException", "InvalidContactStringException", "TryLaterException"):
        return "unavailable"
    if name == "AuthorizationException":
        return "denied"
    if name == "DeniedByDrmException":
        # DRMAA's DENIED_BY_DRM is the scheduler refusing the job (an unknown queue, a resource it lacks) as
        # well as the user: the backend tells them apart by the scheduler's words.
        return "rejected"
    if name == "InvalidJobException":
        return "gone"
    if "InconsistentState" in name or name == "IllegalStateException":
        return "state"
    return "error"


def _session(drmaa: Any, contact: str | None = None) -> Any:
    session = drmaa.Session()
    try:
        session.initialize(contact)
    except Exception as e:
        fail(f"the DRMAA library cannot open a session: {e}", _kind(e))
    return session


# --- the keeper -----------------------------------------------------------------------------------------
def _template(drmaa: Any, session: Any, orders: dict[str, Any]) -> Any:
    jt = session.createJobTemplate()
    jt.remoteCommand = os.fsencode(orders["command"])
    jt.args = [os.fsencode(a) for a in orders["args"]]
    jt.workingDirectory = os.fsencode(orders["cwd"])
    jt.jobName = orders["name"]
    jt.outputPath = b":" + os.fsencode(orders["output"])
    if orders.get("error"):
        jt.errorPath = b":" + os.fsencode(orders["error"])
    jt.joinFiles = orders.get("error") is None
    if orders.get("input"):
        jt.inputPath = b":" + os.fsencode(orders["input"])
    if orders.get("hold"):
        jt.jobSubmissionState = drmaa.JobSubmissionState.HOLD_STATE
    native = list(orders.get("native") or [])
    if _grid_engine(session):
        # -b yes -shell no: the command and its arguments are run as given (Grid Engine's default, a script
        # through a shell, re-splits arguments); -q: the scheduler's queue (before the user's own options,
        # which may name others); -tc: the array's parallel limit; -m/-M: the mail Grid Engine sends.
        queue = ["-q", orders["queue"]] if orders.get("queue") else []
        native = ["-shell", "no", "-b", "yes", *queue, *(orders.get("mail") or []), *native]
        if orders.get("max_parallel"):
            native += ["-tc", str(orders["max_parallel"])]
    elif orders.get("max_parallel"):
        fail(f"the DRMAA library of {session.drmsInfo} cannot limit an array's parallel tasks", "argument")
    elif orders.get("mail"):
        fail(f"drmaa2 does not know how the DRMAA library of {session.drmsInfo} asks for mail: give it with "
             "--native", "argument")
    elif orders.get("queue"):
        fail(f"drmaa2 does not know how the DRMAA library of {session.drmsInfo} names a queue: give it with "
             "--native", "argument")
    if native:
        jt.nativeSpecification = " ".join(native)
    return jt


def _grid_engine(session: Any) -> bool:
    info = str(session.drmsInfo)
    return info.startswith(("SGE", "UGE", "OGS", "GE ", "Grid Engine", "Univa", "Altair"))


def _result(info: Any) -> dict[str, Any]:
    usage = {k: v for k, v in (info.resourceUsage or {}).items()
             if k in ("cpu", "ru_utime", "ru_stime", "ru_maxrss", "maxvmem", "start_time", "end_time",
                      "exit_status")}
    return {"exited": bool(info.hasExited), "exit_status": int(info.exitStatus) if info.hasExited else None,
            "signaled": bool(info.hasSignal), "signal": str(info.terminatedSignal or "") or None,
            "aborted": bool(info.wasAborted), "core": bool(info.hasCoreDump), "usage": usage,
            "at": time.time()}


def _write(directory: str, job_id: str, result: dict[str, Any]) -> None:
    path = os.path.join(directory, f"{job_id}.json")
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(result, f)
    os.replace(tmp, path)


def verify(drmaa: Any, session: Any, orders: dict[str, Any]) -> None:
    """Says whether the scheduler would take the job of ``orders``, submitting nothing: ``{"verified": true}``,
    or false where the library has no way to ask (only Grid Engine's has: ``-w v``), or the library's error
    (and the keeper exits)."""
    if not _grid_engine(session):
        say({"verified": False})
        return
    orders = {**orders, "native": [*(orders.get("native") or []), "-w", "v"]}
    try:
        jt = _template(drmaa, session, orders)
        bulk = orders.get("bulk")
        if bulk:
            session.runBulkJobs(jt, bulk[0], bulk[1], bulk[2])
        else:
            session.runJob(jt)
        session.deleteJobTemplate(jt)
    except Exception as e:
        fail(f"{e}", _kind(e))
    say({"verified": True})


def keeper() -> None:
    drmaa = _load()
    session = _session(drmaa)
    say({"ready": True, "drms": str(session.drmsInfo), "contact": str(session.contact)})
    raw = sys.stdin.readline()
    if raw.strip() and "verify" in json.loads(raw):
        verify(drmaa, session, json.loads(raw)["verify"])
        raw = sys.stdin.read()
    else:
        raw += sys.stdin.read()
    if not raw.strip():
        session.exit()  # the submission was abandoned
        return
    orders = json.loads(raw)
    try:
        jt = _template(drmaa, session, orders)
        bulk = orders.get("bulk")
        # In the submitter's directory while submitting: the library tells the job the directory it was
        # submitted from (Grid Engine's SGE_O_WORKDIR, PBS's PBS_O_WORKDIR) from the process's own.
        with contextlib.suppress(OSError):
            os.chdir(orders.get("submit_dir") or "/")
        if bulk:
            ids = [str(i) for i in session.runBulkJobs(jt, bulk[0], bulk[1], bulk[2])]
        else:
            ids = [str(session.runJob(jt))]
        os.chdir("/")
        session.deleteJobTemplate(jt)
    except Exception as e:
        fail(f"{e}", _kind(e))
    say({"ids": ids})
    # Nobody reads on: the submitter goes on (or exits) while this process waits for the jobs.
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    pending = dict(zip(ids, orders["job_ids"], strict=True))
    directory = orders["results"]
    delay = 0.05
    while pending:
        for native in list(pending):
            try:
                result = _result(session.wait(native, drmaa.Session.TIMEOUT_NO_WAIT))
            except drmaa.errors.ExitTimeoutException:
                continue
            except Exception as e:
                text = str(e)
                if NO_RUSAGE in text:
                    result = {"aborted": True, "usage": {}, "at": time.time()}
                else:
                    result = {"lost": " ".join(text.split()), "usage": {}, "at": time.time()}
            _write(directory, pending.pop(native), result)
            delay = 0.05
        time.sleep(delay)
        delay = min(1.0, delay * 1.3)
    session.exit()


# --- one-off calls --------------------------------------------------------------------------------------
def status() -> None:
    drmaa = _load()
    ids = json.loads(sys.stdin.read())["ids"]
    session = _session(drmaa)
    out: dict[str, Any] = {}
    for native in ids:
        try:
            out[native] = {"state": str(session.jobStatus(native))}
        except Exception as e:
            out[native] = {"error": " ".join(str(e).split()), "kind": _kind(e)}
    session.exit()
    say({"states": out})


def control() -> None:
    drmaa = _load()
    orders = json.loads(sys.stdin.read())
    action = getattr(drmaa.JobControlAction, orders["action"].upper())
    session = _session(drmaa)
    out: dict[str, Any] = {}
    for native in orders["ids"]:
        try:
            session.control(native, action)
            out[native] = None
        except Exception as e:
            out[native] = {"error": " ".join(str(e).split()), "kind": _kind(e)}
    # The state each job is in afterwards: a hold is done only if the job still waits.
    states: dict[str, str | None] = {}
    for native in orders["ids"]:
        try:
            states[native] = str(session.jobStatus(native))
        except Exception:
            states[native] = None
    session.exit()
    say({"results": out, "states": states})


if __name__ == "__main__":
    {"keeper": keeper, "status": status, "control": control}[sys.argv[1]]()

"""A job script's text submitted through `drmaa2 serve`: read as `drmaa2 submit SCRIPT` reads a file (its
directives by the submit command's own parser), then submitted through the same core. Here, in the commands'
layer, because the directives' parser is the command line's; the server is handed this function."""

import tempfile
from pathlib import Path

from .. import config, parsing
from ..errors import InvalidArgument
from ..files import ensure_private_dir
from ..models import JobInfo
from ..service import Service
from .options import DEFAULTS
from .submitting import build_template, read_script, with_directives

#: The largest script taken (a job script is text a person wrote, not data).
MAX_SCRIPT = 256 * 1024


def submit_script(svc: Service, text: str, args: list[str], session: str | None,
                  backend: str | None) -> list[JobInfo]:
    """Submit the script ``text`` with ``args``, named ``STDIN`` as qsub names a script read from its input.
    Raises what `drmaa2 submit` raises for the same script."""
    if len(text.encode()) > MAX_SCRIPT:
        raise InvalidArgument(f"the job script is larger than {MAX_SCRIPT // 1024} KiB")
    ensure_private_dir(svc.settings.home)
    with tempfile.TemporaryDirectory(dir=svc.settings.home, prefix=".script-") as tmp:
        path = Path(tmp) / "STDIN"
        path.write_text(text)
        o = {**DEFAULTS, "command": [str(path), *args], "session": session, "backend": backend,
             "export_all": None, "native_words": None}
        script = read_script(o)
        if script is None:
            raise InvalidArgument("the job script could not be read")
        o = with_directives(o, script)
        if o["after"] and o["after_any"]:
            raise InvalidArgument("use --after or --after-any, not both")
        # The script's own #SBATCH/#DRMAA2 session and backend, resolved as for the command line.
        svc = Service(config.resolve({"session": o["session"], "backend": o["backend"]}, svc.environ))
        from .submitting import script_command

        command = script_command(o, script, svc)
        template = build_template(command, o)
        return svc.submit_jobs(
            template, array=parsing.array(o["array"]) if o["array"] else None,
            after=parsing.job_ids(o["after"] or o["after_any"] or []),
            after_mode="any" if o["after_any"] else "ok")

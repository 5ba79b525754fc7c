"""drmaa2 run [OPTIONS] -- COMMAND [ARGS...]: submit, stream the output live, wait, and exit with the job's exit
code. Its options are submit's (``options.SUBMIT``); what it does after submitting is in ``following``."""

from ._common import command_from
from .submitting import submit_with

HELP = (
    "Run a job synchronously: submit it with this command's standard input (unless a terminal), stream its "
    "stdout and stderr live, exit with its exit code; Ctrl-C stops the job. With --json the output is not "
    "streamed (stdout holds the JSON alone; `drmaa2 logs ID` prints the output)."
)

command = command_from(lambda o: submit_with(o, stream=True), "run")

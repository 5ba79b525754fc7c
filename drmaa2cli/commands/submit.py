"""drmaa2 submit [OPTIONS] -- COMMAND [ARGS...] | drmaa2 submit [OPTIONS] SCRIPT [ARGS...]

The options are declared once in ``options.SUBMIT``; the signature Typer reads is made from them."""

from ._common import command_from
from .submitting import submit_with

HELP = (
    "Submit a job: everything after `--` is the command and its arguments, passed byte for byte. A file "
    "(a path, or a name here that is no command on PATH) is a job script, run with its #! interpreter (/bin/sh "
    "without one) from a copy taken now; with no command, a script is read from standard input. Its leading "
    "#DRMAA2 lines hold submit options, #SBATCH and #$ lines sbatch's and qsub's; the command line wins."
)

command = command_from(lambda o: submit_with(o, stream=False), "submit")

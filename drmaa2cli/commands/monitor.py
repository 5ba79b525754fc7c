"""drmaa2 machines | queues | jobs: the platform as a DRMAA2 monitoring session shows it."""

from typing import Annotated

import typer

from .. import render
from ._common import BackendOption, JsonOption, output, service

MACHINES_HELP = "List the backend's execution hosts: this machine, the Docker engine's host, the cluster's nodes."
QUEUES_HELP = "List where the backend's jobs can be submitted: Slurm partitions, Grid Engine cluster queues, the Cloud Foundry space."
JOBS_HELP = "List every job the backend's platform shows you, drmaa2's marked with their drmaa2 id."

Names = Annotated[list[str] | None, typer.Argument(help="Only these names.", show_default=False)]


def machines(names: Names = None, backend: BackendOption = None, json_out: JsonOption = False) -> int:
    found = service(backend=backend).machines(names=names or ())
    if json_out:
        output().json({"machines": [m.to_public() for m in found]})
    else:
        render.machines_table(output(), found)
    return 0


def queues(names: Names = None, backend: BackendOption = None, json_out: JsonOption = False) -> int:
    found = service(backend=backend).queues(names=names or ())
    if json_out:
        output().json({"queues": [q.to_public() for q in found]})
    else:
        render.queues_table(output(), found)
    return 0


def jobs(backend: BackendOption = None, json_out: JsonOption = False) -> int:
    found = service(backend=backend).all_jobs()
    if json_out:
        output().json({"jobs": [j.to_public() for j in found]})
    else:
        render.platform_jobs_table(output(), found)
    return 0

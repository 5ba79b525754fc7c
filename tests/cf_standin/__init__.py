"""A faithful local stand-in for Cloud Foundry (Cloud Controller v3 tasks, UAA tokens, log-cache reads).

No Cloud Foundry can run on the test machines; this serves the endpoints the cf backend uses, following the
published behaviour recorded in /work/shared/notes/cloud-foundry-v3.md, and runs each task's command as a
real local ``sh -c`` process. Stdlib only.
"""

from .server import Fault, Request, StandIn
from .world import World

__all__ = ["Fault", "Request", "StandIn", "World"]

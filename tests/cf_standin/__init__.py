"""A faithful local stand-in for Cloud Foundry (Cloud Controller v3 tasks, UAA tokens, log-cache reads).

No Cloud Foundry can run on the test machines; this serves the endpoints the cf backend uses, following their
published behaviour: the CF v3 API reference (https://v3-apidocs.cloudfoundry.org/, sections "Tasks", "Apps",
"Droplets", "Spaces", "Organizations" and "Errors"), the UAA API reference for the password and refresh-token
grants (https://docs.cloudfoundry.org/api/uaa/, "Token"), and log-cache's read API
(https://github.com/cloudfoundry/log-cache-release, ``GET /api/v1/read/SOURCE_ID``). It runs each task's command
as a real local ``sh -c`` process. Stdlib only.
"""

from .server import Fault, Request, StandIn
from .world import World

__all__ = ["Fault", "Request", "StandIn", "World"]

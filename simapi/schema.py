"""OpenAPI details drf-spectacular cannot infer on its own."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SimulatorAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents SimulatorAuthentication as HTTP Basic, so the docs page can send it."""

    target_class = "simapi.protocol.SimulatorAuthentication"
    name = "simulatorBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "The simulator's credentials (SIMULATOR_USERNAME / "
            "SIMULATOR_PASSWORD; the course simulator sends simulator / super_safe!).",
        }

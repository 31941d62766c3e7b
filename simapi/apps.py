from django.apps import AppConfig


class SimapiConfig(AppConfig):
    name = "simapi"
    verbose_name = "Simulator API"

    def ready(self):
        # Registers the OpenAPI description of the simulator's authentication.
        from . import schema  # noqa: F401

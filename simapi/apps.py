import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("simapi")

# The course simulator's published credentials (settings.py's defaults).
COURSE_SIMULATOR_PASSWORD = "super_safe!"


class SimapiConfig(AppConfig):
    name = "simapi"
    verbose_name = "Simulator API"

    def ready(self):
        # Registers the OpenAPI description of the simulator's authentication.
        from . import schema  # noqa: F401

        warn_about_open_simulator_api()


def open_simulator_api_risks() -> list[str]:
    """What makes the simulator API open to anyone in production: the course's public
    password, and an allowlist that allows every address. Empty outside production."""
    if not settings.PRODUCTION:
        return []
    risks = []
    if settings.SIMULATOR_PASSWORD == COURSE_SIMULATOR_PASSWORD:
        risks.append("SIMULATOR_PASSWORD is the course's public default")
    if "*" in settings.SIMULATOR_ALLOWED_IPS:
        risks.append("SIMULATOR_ALLOWED_IPS allows every address")
    return risks


def warn_about_open_simulator_api() -> None:
    """One WARNING per process (ready() runs once in each gunicorn worker and each
    manage.py command) when the simulator API is open to anyone who read the course's
    material. Production still starts: the course simulator sends exactly these
    credentials, from addresses nobody announced, and refusing them would fail it."""
    risks = open_simulator_api_risks()
    if risks:
        logger.warning(
            "The simulator API, which can post as any user, is open to anyone who knows "
            "the course's credentials: %s. Set a private SIMULATOR_PASSWORD and "
            "SIMULATOR_ALLOWED_IPS once the course's simulator no longer needs them "
            "(docs/security.md).",
            "; ".join(risks),
            extra={"risks": risks},
        )

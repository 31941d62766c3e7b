"""Who may use the simulator API: HTTP Basic with the one simulator account
(SIMULATOR_USERNAME / SIMULATOR_PASSWORD), from an address SIMULATOR_ALLOWED_IPS allows.
A refusal is the exact 403 the course simulator expects (simapi/errors.py)."""

import logging

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from sitewide.client_ip import client_ip, ip_allowed
from sitewide.http_basic import basic_credentials, credentials_match

logger = logging.getLogger("simapi")


class Simulator:
    """The principal of an authenticated simulator request (it is not a MiniTwit user)."""

    is_authenticated = True
    is_anonymous = False

    def __str__(self):
        return "simulator"


SIMULATOR = Simulator()


class SimulatorAuthentication(BaseAuthentication):
    """HTTP Basic with the one simulator account from the settings.

    Never raises: a missing or wrong header leaves the request anonymous, and the permission
    answers with the protocol's 403 (not DRF's 401 with a browser login prompt).
    """

    def authenticate(self, request):
        given = basic_credentials(get_authorization_header(request))
        if credentials_match(given, settings.SIMULATOR_USERNAME, settings.SIMULATOR_PASSWORD):
            return (SIMULATOR, None)
        return None

    def authenticate_header(self, request):
        # No WWW-Authenticate: the protocol answers 403, and a 401 would make browsers pop
        # up a login dialog on the docs page.
        return None


def is_simulator(request) -> bool:
    """Authenticated as the simulator and calling from an allowed address."""
    return request.user is SIMULATOR and ip_allowed(request, settings.SIMULATOR_ALLOWED_IPS)


class IsSimulator(BasePermission):
    """The simulator's credentials, from an address SIMULATOR_ALLOWED_IPS allows."""

    def has_permission(self, request, view) -> bool:
        if is_simulator(request):
            return True
        if request.user is SIMULATOR:
            # Right credentials from a refused address is most likely a wrong allowlist or
            # a missing TRUSTED_PROXIES entry: say so, or the lock-out is silent.
            logger.warning(
                "simulator request refused by SIMULATOR_ALLOWED_IPS",
                extra={
                    "client_ip": client_ip(request),
                    "remote_addr": request.META.get("REMOTE_ADDR", ""),
                    "x_forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR", ""),
                },
            )
        return False

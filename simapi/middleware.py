"""Counts the simulator's requests on /metrics (minitwit_simulator_requests_total), by
endpoint, method and status, whatever answered them: a view, a 4xx from the protocol, or
the 500 and outage 503 of Django's handler500."""

from django.http import HttpRequest, HttpResponse

from sitewide.middleware import method_label

from .metrics import SIMULATOR_REQUESTS
from .routing import is_simulator_request


class SimulatorTrafficMiddleware:
    """Right inside sitewide's MetricsMiddleware in settings.MIDDLEWARE, so it sees the
    final status of every request, the handler500 answers included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and is_simulator_request(request):
            SIMULATOR_REQUESTS.labels(
                match.url_name, method_label(request), str(response.status_code)
            ).inc()
        return response

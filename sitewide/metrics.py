"""/metrics for Prometheus: request timings, django-prometheus' database metrics, and the
apps' own metrics (the simulator's traffic, business gauges read from the database at
scrape time).

Under gunicorn every worker is its own process with its own counters. prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, prepared by gunicorn.conf.py) has each worker
write its values to files there, and a scrape, whichever worker serves it, adds up the
files of all workers, the dead ones included, so counters never go backwards when a worker
is replaced (gunicorn.conf.py's child_exit drops only a dead worker's live gauges).

Gauges read from the database are not per-worker state at all: the scraping worker
computes them, so every replica reports the same numbers. The apps provide them as
collectors named in settings.METRICS_COLLECTORS, so this module imports no app.
"""

import logging
import os
from functools import cache
from http import HTTPStatus

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import CollectorRegistry, Histogram, multiprocess

from .client_ip import client_ip, from_trusted_proxy, ip_allowed
from .http_basic import basic_credentials, credentials_match

logger = logging.getLogger("minitwit.metrics")

HTTP_REQUEST_DURATION = Histogram(
    "minitwit_http_request_duration_seconds",
    "Seconds from the first middleware to the response, by view (URL name, probe:<name> "
    "for /health, /ready and /metrics, unresolved for the rest), method and status code.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Collectors prometheus_client registers by default for the current process only. In
# multiprocess mode they are not exported (one worker's memory is not the service's), so
# single-process mode leaves them out too and both export the same metric names.
_PER_PROCESS_PREFIXES = ("process_", "python_gc_", "python_info")

_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


class _ThisProcessCollector:
    """Single-process mode: this process' registry, minus the per-process defaults."""

    def describe(self):
        return []

    def collect(self):
        for family in prometheus_client.REGISTRY.collect():
            if not family.name.startswith(_PER_PROCESS_PREFIXES):
                yield family


def render_metrics() -> bytes:
    """The text exposition of every metric, summed over all gunicorn workers."""
    workers = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        multiprocess.MultiProcessCollector(workers, path=directory)
    else:
        workers.register(_ThisProcessCollector())
    text = prometheus_client.generate_latest(workers)
    return text + prometheus_client.generate_latest(_scrape_time_registry())


@cache
def _scrape_time_registry() -> CollectorRegistry:
    """The collectors of settings.METRICS_COLLECTORS, which compute their values when
    scraped (from the database) rather than count in the workers."""
    registry = CollectorRegistry()
    for path in settings.METRICS_COLLECTORS:
        registry.register(import_string(path)())
    return registry


def _came_through_untrusted_proxy(request: HttpRequest) -> bool:
    """A forwarding header from a peer that is not a trusted proxy hides the real client.

    Prometheus scrapes each replica directly. A request carrying X-Forwarded-For came
    through a proxy, most likely the public one: if we do not trust that proxy, its own
    (private) address would pass the allowlist on behalf of anyone on the internet.
    """
    if not any(request.META.get(header) for header in _FORWARDING_HEADERS):
        return False
    return not from_trusted_proxy(request)


def _credentials_match(request: HttpRequest) -> bool:
    username, password = settings.METRICS_USERNAME, settings.METRICS_PASSWORD
    if not (username and password):
        return False
    given = basic_credentials(request.headers.get("Authorization", ""))
    return credentials_match(given, username, password)


def metrics_access_denied(request: HttpRequest) -> HttpResponse | None:
    """None if the request may read /metrics, else the 401 or 403 to send.

    Allowed: valid METRICS_USERNAME/METRICS_PASSWORD Basic credentials from anywhere, or
    a client address in METRICS_ALLOWED_IPS (see client_ip.py for proxies).
    """
    if _credentials_match(request):
        return None
    if not _came_through_untrusted_proxy(request) and ip_allowed(
        request, settings.METRICS_ALLOWED_IPS
    ):
        return None
    logger.warning("metrics: access refused to %s", client_ip(request))
    if settings.METRICS_USERNAME:
        response = HttpResponse(
            "Metrics need credentials.\n",
            status=HTTPStatus.UNAUTHORIZED,
            content_type="text/plain; charset=utf-8",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="metrics", charset="UTF-8"'
        return response
    return HttpResponse(
        "Metrics are not available from your address.\n",
        status=HTTPStatus.FORBIDDEN,
        content_type="text/plain; charset=utf-8",
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for allowed clients only (served by ProbeMiddleware)."""
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=HTTPStatus.METHOD_NOT_ALLOWED)
        response.headers["Allow"] = "GET, HEAD"
        return response
    denied = metrics_access_denied(request)
    if denied is not None:
        return denied
    return HttpResponse(render_metrics(), content_type=prometheus_client.CONTENT_TYPE_LATEST)

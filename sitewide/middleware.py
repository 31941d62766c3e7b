"""Cross-cutting middleware: request ids and the request log, the probe endpoints, and
request metrics. Views carry no logging or metrics code; the simulator's own traffic
counter is simapi's (simapi/middleware.py).

Order in settings.MIDDLEWARE matters: RequestLogMiddleware wraps everything else (so even
probe answers and errors raised by other middleware get one line), ProbeMiddleware answers
/health, /ready and /metrics before CommonMiddleware checks the Host header.
"""

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from . import jsonlog, metrics, probes

request_logger = logging.getLogger("minitwit.request")

PROBE_VIEWS = {
    "/health": probes.health,
    "/ready": probes.ready,
    "/metrics": metrics.metrics_view,
}
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(request: HttpRequest) -> str:
    """The request's method for a metric label or log field: one of the methods the site
    knows, or "OTHER"."""
    # Anyone can send any method name; keep it from flooding labels and log fields.
    return request.method if request.method in _KNOWN_METHODS else "OTHER"


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id, only if something already loaded the user.

    Loading it here would cost a session and a user query on requests that never
    needed them (the simulator API, static files).
    """
    user = getattr(request, "user", None)
    user = getattr(user, "_wrapped", user)  # Django's lazy request.user
    if user is None or user is empty or not user.is_authenticated:
        return None
    # The simulator API authenticates a principal that is not a MiniTwit user (no pk).
    return getattr(user, "pk", None)


class RequestLogMiddleware:
    """One JSON line per request, and a request id on every line logged meanwhile.

    The id comes from the X-Request-ID header when it looks sane (a proxy or the client
    made one), otherwise a new one; either way it is returned in X-Request-ID. The line
    holds the method, the path without its query string (which may carry secrets), the
    status, the duration, the view and the user id; a 5xx line also holds the traceback.
    Successful probes are logged at DEBUG: a healthcheck every few seconds per replica
    would otherwise drown the real traffic.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = (
            jsonlog.valid_request_id(request.headers.get("X-Request-ID"))
            or jsonlog.new_request_id()
        )
        id_token = jsonlog.request_id_var.set(request_id)
        error_token = jsonlog.request_error_var.set(None)
        started = time.perf_counter()
        try:
            try:
                response = self.get_response(request)
            except BaseException as exc:
                # Only reached when exceptions propagate (DEBUG_PROPAGATE_EXCEPTIONS):
                # still one line, with the traceback.
                jsonlog.request_error_var.set(
                    jsonlog.exception_fields((type(exc), exc, exc.__traceback__))
                )
                self._log(request, 500, started)
                raise
            response.headers["X-Request-ID"] = request_id
            self._log(request, response.status_code, started)
            # Django's handler logs every 4xx/5xx once more after all middleware has run
            # ("Not Found: /x"), unless the response says it was logged already.
            response._has_been_logged = True
            return response
        finally:
            jsonlog.request_error_var.reset(error_token)
            jsonlog.request_id_var.reset(id_token)

    def _log(self, request: HttpRequest, status: int, started: float) -> None:
        if status >= 500 and status != 503:
            level = logging.ERROR
        elif status == 503:
            # A database outage (logged with its cause by sitewide/outage.py) or
            # /ready saying not ready: the service is degraded, nothing is broken.
            level = logging.WARNING
        elif status >= 400:
            level = logging.WARNING
        elif request.path_info in PROBE_VIEWS:
            level = logging.DEBUG
        else:
            level = logging.INFO
        if not request_logger.isEnabledFor(level):
            return
        match = getattr(request, "resolver_match", None)
        fields = {
            "method": method_label(request),
            "path": request.path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "view": match.view_name if match else None,
            "user_id": _user_id(request),
        }
        error = jsonlog.request_error_var.get()
        if error:
            fields.update(error)
        request_logger.log(
            level, "%s %s %s", fields["method"], fields["path"], status, extra=fields
        )


class ProbeMiddleware:
    """Serves /health, /ready and /metrics ahead of the rest of the stack.

    The Docker healthcheck asks http://127.0.0.1:8000/health and Prometheus scrapes each
    replica by its overlay address: neither Host is a public ALLOWED_HOSTS name, so these
    answers must come before CommonMiddleware's host check would turn them into 400s.
    None of these views builds URLs from the Host header, so skipping the check is safe.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBE_VIEWS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        response = view(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


PROBE_NAMES = {path: f"probe:{path.lstrip('/')}" for path in PROBE_VIEWS}


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    # Probes answer before URL resolution; anything else unresolved is a 404 or was
    # refused by a middleware (bad Host, CSRF) before it reached a view.
    return PROBE_NAMES.get(request.path_info, "unresolved")


class MetricsMiddleware:
    """Times every request into one histogram by view, method and status code.

    One observation a request: django-prometheus' pair of middleware updates about a dozen
    metrics a request, which cost more CPU than a simulator write's own SQL
    (docs/performance.md). The histogram's `_count` is the request counter by status.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = method_label(request)
        status = str(response.status_code)
        metrics.HTTP_REQUEST_DURATION.labels(_view_name(request), method, status).observe(
            time.perf_counter() - started
        )
        return response

"""SimulatorAPIView, the base of every simulator endpoint, which brings the protocol's
cross-cutting rules in one place:

- authentication and the client-address allowlist (simapi/authentication.py), with the
  exact 403 the course simulator expects when either check fails;
- the `latest` bookkeeping (simapi/latest_counter.py), done only once a request is
  authorized, in the same transaction as the request's write;
- a JSON parser that refuses oversized and pathological bodies with a 4xx
  (simapi/parsing.py);
- JSON error bodies `{"status": N, "error_msg": "..."}` for every error (simapi/errors.py).
"""

from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from .authentication import IsSimulator, SimulatorAuthentication, is_simulator
from .errors import NotAuthorized, exception_handler
from .latest_counter import PendingLatest, latest_counter_recorded_with_write, parse_latest
from .parsing import AlwaysJSON, SimulatorJSONParser


class SimulatorAPIView(APIView):
    """Base of every simulator endpoint (see the module docstring)."""

    authentication_classes = [SimulatorAuthentication]
    permission_classes = [IsSimulator]
    parser_classes = [SimulatorJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJSON

    def get_exception_handler(self):
        return exception_handler

    def permission_denied(self, request, message=None, code=None):
        raise NotAuthorized()

    # Whether this endpoint's operations record `latest`; GET /latest's does not, as in the
    # course's reference.
    records_latest_counter = True

    def reaches_operation(self, request) -> bool:
        """Whether the request goes on to one of this endpoint's operations (HEAD runs GET's)
        rather than to DRF's 405 or OPTIONS answers, which the reference never records."""
        method = request.method.lower()
        return method != "options" and method in self.http_method_names and hasattr(self, method)

    _pending_latest: PendingLatest | None = None

    def dispatch(self, request, *args, **kwargs):
        """Run the operation and record its `latest` with its write.

        The write and `latest` share one transaction: one flush of the database's
        write-ahead log instead of two, and on PostgreSQL no BEGIN or COMMIT of their own
        (latest_counter.latest_counter_recorded_with_write).
        """
        if request.method in ("GET", "HEAD", "OPTIONS") and "latest" not in request.GET:
            self._pending_latest = None
            return super().dispatch(request, *args, **kwargs)
        with latest_counter_recorded_with_write() as self._pending_latest:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Past authentication and permissions: an unauthorized request never gets here, so
        # it cannot move `latest`. DRF runs initial() before it picks the handler, hence the
        # check that the method has one. A request that then fails (400, 404) still counts,
        # as in the reference; dispatch() writes the value, with the operation's write.
        # Of a repeated `latest`, the first counts, as with the reference's Flask.
        if not (self.records_latest_counter and self.reaches_operation(request)):
            return
        sent = request.query_params.getlist("latest")
        sent_latest = parse_latest(sent[0]) if sent else None
        if sent_latest is not None and is_simulator(request) and self._pending_latest is not None:
            self._pending_latest.value = sent_latest

"""The simulator protocol's cross-cutting rules, in one place.

Every simulator endpoint is a `SimulatorAPIView`, which brings:

- HTTP Basic authentication against SIMULATOR_USERNAME / SIMULATOR_PASSWORD, compared in
  constant time, plus the optional client-address allowlist SIMULATOR_ALLOWED_IPS;
- the exact 403 the course simulator expects when either check fails;
- the `latest` bookkeeping, done only once a request is authorized;
- a JSON parser that refuses oversized and pathological bodies with a 4xx;
- JSON error bodies `{"status": N, "error_msg": "..."}` for every error: the 4xx here, and
  the 500 and the database outage's 503 from minitwit_project/errors.py (Django's
  handler500), through `error_response`.
"""

import base64
import binascii
import hmac
import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.utils import json
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from minitwit_project.client_ip import client_ip, ip_allowed
from timeline import services
from timeline.parsing import parse_int

logger = logging.getLogger("simapi")

NOT_AUTHORIZED = "You are not authorized to use this resource!"

# The `latest` column is a BIGINT: anything outside it is "not an integer" for our purposes.
LATEST_MIN, LATEST_MAX = -(2**63), 2**63 - 1


class Simulator:
    """The principal of an authenticated simulator request (it is not a MiniTwit user)."""

    is_authenticated = True
    is_anonymous = False

    def __str__(self):
        return "simulator"


SIMULATOR = Simulator()


def _same(given: bytes, expected: str) -> bool:
    return hmac.compare_digest(given, expected.encode())


class SimulatorAuthentication(BaseAuthentication):
    """HTTP Basic with the one simulator account from the settings.

    Never raises: a missing or wrong header leaves the request anonymous, and the permission
    answers with the protocol's 403 (not DRF's 401 with a browser login prompt).
    """

    def authenticate(self, request):
        scheme, _, encoded = get_authorization_header(request).partition(b" ")
        if scheme.lower() != b"basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        username, colon, password = decoded.partition(b":")
        if not colon:
            return None
        # Both halves are always compared (no short-circuit `and`), each in constant time,
        # so the response time says nothing about which half or how much of it was right.
        user_ok = _same(username, settings.SIMULATOR_USERNAME)
        password_ok = _same(password, settings.SIMULATOR_PASSWORD)
        if user_ok & password_ok:
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


class NotAuthorized(exceptions.APIException):
    status_code = HTTPStatus.FORBIDDEN
    default_detail = NOT_AUTHORIZED
    default_code = "not_authorized"


class PayloadTooLarge(exceptions.APIException):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class SimulatorJSONParser(JSONParser):
    """DRF's JSON parser with the limits it lacks.

    DRF reads the body straight from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE is
    never applied; and `json` raises RecursionError (not ValueError) on deeply nested
    arrays, which DRF would turn into a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(raw.decode(encoding), parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc


class AlwaysJSON(DefaultContentNegotiation):
    """The protocol has one representation: answer JSON whatever `Accept` says, rather
    than a 406 to a client that sends an unusual header."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _error_text(detail) -> str:
    """One readable line from DRF's error detail (a string, list or field dict)."""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = _error_text(value)
            parts.append(text if field == api_settings.NON_FIELD_ERRORS_KEY else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_error_text(item) for item in detail)
    return str(detail)


def error_response(status: int, message: str) -> JsonResponse:
    """An error in the API's shape, `{"status": N, "error_msg": "..."}`, for answers made
    outside DRF: the 500 of a bug and the 503 of a database outage (handler500)."""
    return JsonResponse({"status": int(status), "error_msg": message}, status=int(status))


def exception_handler(exc, context):
    """Every 4xx as `{"status": N, "error_msg": "..."}`, the course API's error shape; a
    ServiceError from timeline's services is a 400 with its message.

    Anything DRF does not recognise (a bug, a database outage) propagates, also out of
    dispatch()'s `latest` block (which then records nothing), to Django's handler500
    (minitwit_project/errors.py), which logs it and answers in this same shape: 500, or 503
    with Retry-After.
    """
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, services.ServiceError):
        # MiniTwit refused the request, with the text the web pages show too.
        exc = exceptions.ValidationError(exc.message)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
    else:  # Django's Http404 / PermissionDenied, which DRF answers with {"detail": ...}
        detail = response.data.get("detail", response.data)
    response.data = {"status": response.status_code, "error_msg": _error_text(detail)}
    return response


def parse_latest(raw: str | None) -> int | None:
    """The `latest` query value to record, or None: absent, not a 64-bit integer, or -1.

    The course's reference reads `latest` with a default of -1 and records anything else,
    so -1 means "no value" and is never recorded.
    """
    value = parse_int(raw, minimum=LATEST_MIN, maximum=LATEST_MAX)
    return None if value == -1 else value


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
    records_latest = True

    def reaches_operation(self, request) -> bool:
        """Whether the request goes on to one of this endpoint's operations (HEAD runs GET's)
        rather than to DRF's 405 or OPTIONS answers, which the reference never records."""
        method = request.method.lower()
        return method != "options" and method in self.http_method_names and hasattr(self, method)

    _latest: services.LatestPending | None = None

    def dispatch(self, request, *args, **kwargs):
        """Run the operation and record its `latest` with its write.

        The write and `latest` share one transaction: one flush of the database's
        write-ahead log instead of two, and on PostgreSQL no BEGIN or COMMIT of their own
        (services.latest_recorded_with_write). `latest` is written last, so the lock on its
        single row is held only while the transaction commits.
        """
        if request.method in ("GET", "HEAD", "OPTIONS") and "latest" not in request.GET:
            self._latest = None
            return super().dispatch(request, *args, **kwargs)
        with services.latest_recorded_with_write() as self._latest:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Past authentication and permissions: an unauthorized request never gets here, so
        # it cannot move `latest`. DRF runs initial() before it picks the handler, hence the
        # check that the method has one. A request that then fails (400, 404) still counts,
        # as in the reference; dispatch() writes the value, with the operation's write.
        # Of a repeated `latest`, the first counts, as with the reference's Flask.
        if not (self.records_latest and self.reaches_operation(request)):
            return
        sent = request.query_params.getlist("latest")
        latest = parse_latest(sent[0]) if sent else None
        if latest is not None and is_simulator(request) and self._latest is not None:
            self._latest.value = latest


class ProtocolText(serializers.CharField):
    """A JSON string, taken exactly as sent.

    DRF's CharField would trim whitespace (changing passwords and messages) and turn numbers
    into strings; the protocol's fields are strings, so anything else is a 400.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    error_msg = serializers.CharField(help_text="What was wrong, for a human.")

"""The simulator API's error bodies: `{"status": N, "error_msg": "..."}` for every error,
the 4xx of DRF and of timeline's services here, and the 500 and the database outage's 503
from Django's handler500 (minitwit_project/errors.py) through `error_response`."""

from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from timeline import services

NOT_AUTHORIZED = "You are not authorized to use this resource!"


class NotAuthorized(exceptions.APIException):
    status_code = HTTPStatus.FORBIDDEN
    default_detail = NOT_AUTHORIZED
    default_code = "not_authorized"


class PayloadTooLarge(exceptions.APIException):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


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


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    error_msg = serializers.CharField(help_text="What was wrong, for a human.")

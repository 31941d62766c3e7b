"""Error pages that say what went wrong, in the site's layout."""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import Http404, HttpResponseServerError
from django.shortcuts import render
from django.template.loader import render_to_string


def _error(request, status: HTTPStatus, message: str):
    return render(
        request, "error.html", {"status": status, "message": message}, status=status.value
    )


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        # Django files this under 400; the status that names it lets a client tell.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _error(
            request,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"The form is larger than the {limit // 1024} KiB the server accepts.",
        )
    # Only our own BadRequest messages are meant for users; other 400s (suspicious
    # headers, oversized bodies) get a generic text that reveals nothing.
    message = str(exception) if isinstance(exception, BadRequest) and str(exception) else None
    return _error(request, HTTPStatus.BAD_REQUEST, message or "The request was not understood.")


def permission_denied(request, exception=None):
    return _error(request, HTTPStatus.FORBIDDEN, "You are not allowed to do that.")


def method_not_allowed(request, allowed: list[str]):
    """405 in the site's layout, with the Allow header the status requires."""
    response = _error(
        request,
        HTTPStatus.METHOD_NOT_ALLOWED,
        f"This page does not take a {request.method} request (it takes {', '.join(allowed)}).",
    )
    response["Allow"] = ", ".join(allowed)
    return response


def page_not_found(request, exception=None):
    message = str(exception) if isinstance(exception, Http404) and exception.args else None
    if message and not isinstance(exception.args[0], str):
        message = None
    return _error(request, HTTPStatus.NOT_FOUND, message or "There is no such page.")


def server_error(request):
    # Rendered without the request: the context processors would query the database,
    # which may be exactly what failed.
    status = HTTPStatus.INTERNAL_SERVER_ERROR
    body = render_to_string(
        "error.html", {"status": status, "message": "Something broke on our side; it is logged."}
    )
    return HttpResponseServerError(body)


def csrf_failure(request, reason=""):
    """403 for a refused state change: from CrossOriginProtectionMiddleware (the request
    came from another site) or, in the admin, from Django's token check."""
    if "token" in reason.lower() or "referer" in reason.lower() or "cookie" in reason.lower():
        message = (
            "The form was rejected because its security token is missing or out of date "
            "(cross-site request forgery protection). Reload the page and try again."
        )
    else:
        message = (
            "The request was refused because it came from another site (cross-site request "
            "forgery protection). Go to this site and use its own form."
        )
    return _error(request, HTTPStatus.FORBIDDEN, message)


def signin_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a sign-in refused because of too many failures (the site's
    /login and the admin's): a 429 page saying why and for how long, with Retry-After."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = _error(
        request,
        HTTPStatus.TOO_MANY_REQUESTS,
        f"Too many failed sign-ins for this account or from this address. "
        f"Try again in {minutes} minutes.",
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response

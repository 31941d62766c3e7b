"""Django's handler500: the answer to every request that fails with an unhandled exception.

It sits in the settings package because it joins the apps: a database outage
(sitewide/outage.py decides what counts as one) is a 503 with Retry-After, anything else
a 500; the simulator API answers in its JSON error shape (simapi), the pages with the
site's error pages (timeline). Neither answer touches the database (no session, no user),
since that may be exactly what failed.
"""

import sys
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from simapi.errors import error_response
from simapi.routing import is_simulator_request
from sitewide import outage
from timeline import errors as page_errors


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After: the API's JSON error or the "we'll be right back" page."""
    outage.log_outage(request, exc)
    status = HTTPStatus.SERVICE_UNAVAILABLE
    response: HttpResponse
    if is_simulator_request(request):
        response = error_response(status, "The database is unavailable; retry shortly.")
    else:
        response = HttpResponse(
            render_to_string("unavailable.html", {"retry_after": outage.RETRY_AFTER_SECONDS}),
            status=status,
        )
    return outage.as_outage_response(response)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 for a database outage, else 500 (JSON for the API)."""
    exc = sys.exc_info()[1]
    if outage.database_unavailable(exc):
        return database_unavailable_response(request, exc)
    if is_simulator_request(request):
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "Something broke on our side; it is logged."
        )
    return page_errors.server_error(request)

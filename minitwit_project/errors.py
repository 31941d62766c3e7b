"""The one place that decides whether a failure is a database outage, and the answer to
every request that fails with an unhandled exception (Django's handler500).

A database that is down, hung, out of connections or timing out is not a bug: the request
may succeed in a few seconds. It gets 503 with `Retry-After`, logged at WARNING with its
cause and no traceback, so monitoring tells it from the 500s of real bugs
(docs/monitoring.md). The simulator API answers in its JSON error shape, 500 included; the
pages answer with the site's error pages. Neither answer touches the database (no session,
no user), since that may be exactly what failed.
"""

import logging
import sqlite3
import sys
from http import HTTPStatus
from typing import TypeGuard

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from simapi.protocol import error_response
from simapi.views import is_signup_page_request
from timeline import errors as page_errors

logger = logging.getLogger("minitwit.outage")

# Seconds a client is asked to wait; PostgreSQL restarts and failovers take about that.
RETRY_AFTER_SECONDS = 5

# SQLSTATE classes that mean "the server cannot serve now", not "the query is wrong":
# 08 connection exception, 53 insufficient resources (too many connections, disk full),
# 57 operator intervention (statement timeout, admin shutdown, server starting), and
# 55P03 lock_timeout expired.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57", "55P03")
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")

# The protocol's endpoints (simapi/urls.py names); the API's docs pages are HTML.
SIMULATOR_ENDPOINTS = frozenset({"latest", "register", "msgs", "msgs_user", "fllws"})


def database_unavailable(exc: BaseException | None) -> TypeGuard[BaseException]:
    """True when `exc` (Django's wrapped error or the driver's own) means the database
    cannot serve right now: refused, down, hung past its timeout, out of connections,
    statement or lock timeout, shut down by an operator. False for anything else,
    including database errors caused by the query itself (a bug: 500)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
    elif isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.Error)):
        cause = exc  # the driver's own, not wrapped by Django
    else:
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES)
    if isinstance(cause, sqlite3.Error):
        return str(cause).lower().startswith(_SQLITE_UNAVAILABLE)
    # No SQLSTATE: the client library failed (refused, reset, timed out, connection closed).
    return True


def is_simulator_request(request: HttpRequest) -> bool:
    """Whether the request went to one of the simulator API's endpoints (not to the HTML
    sign-up page that shares /register)."""
    match = getattr(request, "resolver_match", None)
    return (
        match is not None
        and "simapi" in match.app_names
        and match.url_name in SIMULATOR_ENDPOINTS
        and not (match.url_name == "register" and is_signup_page_request(request))
    )


def _cause_text(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:200]}"


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After: the API's JSON error or the "we'll be right back" page."""
    logger.warning(
        "database unavailable: %s",
        _cause_text(exc),
        extra={"path": request.path, "cause": type(exc.__cause__ or exc).__name__},
    )
    status = HTTPStatus.SERVICE_UNAVAILABLE
    response: HttpResponse
    if is_simulator_request(request):
        response = error_response(status, "The database is unavailable; retry shortly.")
    else:
        response = HttpResponse(
            render_to_string("unavailable.html", {"retry_after": RETRY_AFTER_SECONDS}),
            status=status,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Logged above at WARNING: keeps Django from logging it once more as an ERROR with a
    # traceback (django.request), which would count it as a bug.
    # The flag is Django's own (django.utils.log.log_response reads it); the stubs omit it.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 for a database outage, else 500 (JSON for the API)."""
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        return database_unavailable_response(request, exc)
    if is_simulator_request(request):
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "Something broke on our side; it is logged."
        )
    return page_errors.server_error(request)

"""The one place that decides whether a failure is a database outage.

A database that is down, hung, out of connections or timing out is not a bug: the request
may succeed in a few seconds. It gets 503 with `Retry-After`, logged at WARNING with its
cause and no traceback, so monitoring tells it from the 500s of real bugs
(docs/monitoring.md). Which body the 503 carries (the simulator API's JSON or the site's
page) is decided by Django's handler500, minitwit_project/errors.py.
"""

import logging
import sqlite3
from typing import TypeGuard

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("minitwit.outage")

# Seconds a client is asked to wait; PostgreSQL restarts and failovers take about that.
RETRY_AFTER_SECONDS = 5

# SQLSTATE classes that mean "the server cannot serve now", not "the query is wrong":
# 08 connection exception, 53 insufficient resources (too many connections, disk full),
# 57 operator intervention (statement timeout, admin shutdown, server starting), and
# 55P03 lock_timeout expired.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57", "55P03")
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


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


def _cause_text(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:200]}"


def log_outage(request: HttpRequest, exc: BaseException) -> None:
    """One WARNING with the outage's cause (its first line, no traceback)."""
    logger.warning(
        "database unavailable: %s",
        _cause_text(exc),
        extra={"path": request.path, "cause": type(exc.__cause__ or exc).__name__},
    )


def as_outage_response(response: HttpResponse) -> HttpResponse:
    """`response` (a 503 body) with Retry-After, marked as logged: log_outage logged it at
    WARNING, and Django would otherwise log it once more as an ERROR with a traceback
    (django.request), which would count it as a bug."""
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # The flag is Django's own (django.utils.log.log_response reads it); the stubs omit it.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response

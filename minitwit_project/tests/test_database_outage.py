"""Which failures count as a database outage (503) rather than a bug (500)."""

import sqlite3

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, ProgrammingError
from psycopg import errors as pg

from sitewide.outage import database_unavailable


def wrapped(django_error, driver_error):
    """The exception Django raises: its own class, the driver's error as the cause."""
    try:
        raise django_error(str(driver_error)) from driver_error
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    "driver_error",
    [
        psycopg.OperationalError("connection to server failed: Connection refused"),
        psycopg.OperationalError("the database did not answer within 1.5 s (hung server?)"),
        pg.QueryCanceled("canceling statement due to statement timeout"),
        pg.LockNotAvailable("canceling statement due to lock timeout"),
        pg.TooManyConnections("sorry, too many clients already"),
        pg.AdminShutdown("terminating connection due to administrator command"),
        pg.CannotConnectNow("the database system is starting up"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=lambda e: type(e).__name__ + ":" + str(e)[:24],
)
def test_an_unreachable_slow_or_full_database_is_an_outage(driver_error):
    assert database_unavailable(wrapped(OperationalError, driver_error))
    assert database_unavailable(driver_error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(ProgrammingError, pg.UndefinedTable('relation "x" does not exist')),
        wrapped(IntegrityError, pg.UniqueViolation("duplicate key value")),
        wrapped(OperationalError, sqlite3.OperationalError("no such table: x")),
        RuntimeError("a bug"),
        None,
    ],
    ids=["undefined-table", "unique-violation", "sqlite-no-such-table", "bug", "none"],
)
def test_a_wrong_query_or_a_bug_is_not_an_outage(error):
    assert not database_unavailable(error)

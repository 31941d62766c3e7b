"""A database that does not answer costs a request a bounded wait, then a 503, and the app
uses the database again once it answers (minitwit_project/db/base.py). The whole-server
faults (stopped, frozen, out of connections) are in deploy/faults.py."""

import time
from http import HTTPStatus

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.test import Client

from minitwit_project.db import base

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the bound is PostgreSQL's"),
]


@pytest.fixture
def healthy_database(monkeypatch):
    monkeypatch.setattr(base, "_failing_until", 0.0)
    yield
    base._failing_until = 0.0
    connection.close()  # a given-up connection must not reach the test teardown's flush


def hang(deadline: float) -> float:
    """Run a statement the server does not answer within `deadline`; return the wait."""
    close_old_connections()  # as a worker does before each request
    connection.ensure_connection()
    connection.connection.response_timeout = deadline
    started = time.monotonic()
    with pytest.raises(OperationalError, match="did not answer"), connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")  # as if the server itself were stuck
        cursor.execute("SELECT pg_sleep(3)")
    return time.monotonic() - started


def test_a_server_that_does_not_answer_is_given_up_at_the_deadline(healthy_database):
    assert hang(0.3) < 1.0
    # Closed, so nothing can reuse a connection that is in the middle of a statement.
    assert connection.connection.closed


def test_then_requests_fail_fast_with_503_and_the_database_is_used_again_later(
    healthy_database, monkeypatch
):
    hang(0.3)
    client = Client(raise_request_exception=False)
    close_old_connections()
    started = time.monotonic()
    response = client.get("/latest")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert time.monotonic() - started < 0.5  # no new connect attempt, no wait

    monkeypatch.setattr(base, "_failing_until", 0.0)  # FAIL_FAST_SECONDS later
    close_old_connections()
    assert client.get("/latest").status_code == HTTPStatus.OK


def test_the_default_deadline_follows_the_statement_timeout(settings):
    settings.DB_STATEMENT_TIMEOUT = 500
    assert base.response_timeout() == pytest.approx(1.5)
    settings.DB_STATEMENT_TIMEOUT = 0  # operator commands: no limit
    assert base.response_timeout() is None

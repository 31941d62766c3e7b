"""A persistent database connection that the server ended is replaced before it is used,
and a healthy one is reused without a round trip (minitwit_project/db/base.py)."""

import time
from http import HTTPStatus

import pytest
from django.db import close_old_connections, connection, connections

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the health check is PostgreSQL's"
    ),
]


def backend_pid(client) -> int:
    """Serve a request the way a worker does, and return the server process it used."""
    # Django's test client skips the request_started signal, which in a real worker resets
    # the health check and closes connections past their age; send it ourselves.
    close_old_connections()
    assert client.get("/latest").status_code == HTTPStatus.OK
    return connection.connection.info.backend_pid


def terminate(pid: int) -> None:
    # Another connection of its own, as an operator's pg_terminate_backend would be.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def test_a_healthy_connection_is_reused_across_requests(client):
    first = backend_pid(client)
    assert backend_pid(client) == first


def test_a_connection_the_server_ended_is_replaced_and_the_request_succeeds(client):
    ended = backend_pid(client)
    terminate(ended)
    time.sleep(0.2)  # the server's goodbye reaches our socket

    assert backend_pid(client) != ended


def test_the_check_sends_nothing_to_the_server(client, monkeypatch):
    backend_pid(client)
    sent = []
    monkeypatch.setattr(connection.connection, "cursor", lambda *a, **k: sent.append("cursor"))
    monkeypatch.setattr(connection.connection, "execute", lambda *a, **k: sent.append("query"))
    connection.health_check_done = False

    connection.close_if_health_check_failed()

    assert connection.connection is not None
    assert sent == []

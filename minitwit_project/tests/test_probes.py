"""/health and /ready answer the container healthcheck and the load balancer."""

from http import HTTPStatus

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder

from sitewide import probes

pytestmark = pytest.mark.django_db


def test_health_says_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_answers_the_docker_healthcheck_in_production(client, settings):
    # Production: ALLOWED_HOSTS is the public name only; the healthcheck inside the
    # container asks for http://127.0.0.1:8000/health.
    settings.ALLOWED_HOSTS = ["minitwit.example.org"]

    response = client.get("/health", headers={"Host": "127.0.0.1:8000"})

    assert response.status_code == HTTPStatus.OK
    assert client.get("/public", headers={"Host": "127.0.0.1:8000"}).status_code == (
        HTTPStatus.BAD_REQUEST
    )


def test_ready_answers_for_any_host_too(client, settings):
    settings.ALLOWED_HOSTS = ["minitwit.example.org"]

    response = client.get("/ready", headers={"Host": "10.0.1.7:8000"})

    assert response.status_code == HTTPStatus.OK


def test_ready_when_the_database_answers_and_is_migrated(client):
    response = client.get("/ready")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ready"}


def test_not_ready_while_a_migration_is_missing(client):
    last = MigrationRecorder.Migration.objects.filter(app="timeline").order_by("-id").first()
    last.delete()

    response = client.get("/ready")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "status": "unavailable",
        "reason": "1 unapplied migration(s); run manage.py migrate",
    }


def test_ready_again_once_migrated(client):
    last = MigrationRecorder.Migration.objects.filter(app="timeline").order_by("-id").first()
    last.delete()
    assert client.get("/ready").status_code == HTTPStatus.SERVICE_UNAVAILABLE

    MigrationRecorder(connection).record_applied(last.app, last.name)

    assert client.get("/ready").status_code == HTTPStatus.OK


def test_not_ready_while_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "db" (10.0.0.3), port 5432 failed')

    monkeypatch.setattr(probes.connection, "cursor", unreachable)

    response = client.get("/ready")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "status": "unavailable",
        "reason": "database unreachable (OperationalError)",
    }


def test_health_stays_ok_while_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("no database")

    monkeypatch.setattr(probes.connection, "cursor", unreachable)

    assert client.get("/health").status_code == HTTPStatus.OK


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_only_take_get(client, path):
    response = client.post(path)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.headers["Allow"] == "GET, HEAD"


def test_a_failed_readiness_check_is_logged_with_its_cause(client, monkeypatch, log_output):
    def unreachable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(probes.connection, "cursor", unreachable)

    client.get("/ready")

    warning, request = log_output.lines
    assert warning["logger"] == "minitwit.probes"
    assert "server closed the connection unexpectedly" in warning["message"]
    assert request["status"] == HTTPStatus.SERVICE_UNAVAILABLE
    # Degraded, not broken: a 503 is a warning, so error alerts and searches mean bugs.
    assert request["level"] == "WARNING"

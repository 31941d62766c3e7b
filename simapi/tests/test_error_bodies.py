"""Every error the simulator API answers is JSON in the protocol's shape, from the 4xx of
bad requests to the 500 of a bug and the 503 of a database outage."""

import logging
from http import HTTPStatus

import pytest

from .conftest import SimulatorClient, assert_error, basic_auth


@pytest.fixture
def api():
    # As a server would: an unhandled exception becomes handler500's answer.
    return SimulatorClient(basic_auth(), raise_request_exception=False)


@pytest.fixture
def broken_selectors(monkeypatch):
    from simapi import latest_counter
    from timeline import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(latest_counter, "latest_counter_value", broken)
    monkeypatch.setattr(selectors, "newest_messages", broken)


REQUESTS = {
    HTTPStatus.BAD_REQUEST: lambda api: api.post("/msgs/alice", raw="{not json"),
    HTTPStatus.FORBIDDEN: lambda api: SimulatorClient().get("/msgs"),
    HTTPStatus.NOT_FOUND: lambda api: api.get("/msgs/nobody"),
    HTTPStatus.METHOD_NOT_ALLOWED: lambda api: api.generic("DELETE", "/latest"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: lambda api: api.post(
        "/msgs/alice", raw='{"content": "' + "x" * 3_000_000 + '"}'
    ),
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: lambda api: api.post(
        "/msgs/alice", raw="content", content_type="text/plain"
    ),
}


@pytest.mark.parametrize("status", list(REQUESTS), ids=lambda s: str(s.value))
def test_client_errors_are_json(api, alice, status):
    assert_error(REQUESTS[status](api), status)


@pytest.mark.parametrize("path", ["/latest", "/msgs", "/msgs/alice"])
def test_a_bug_is_a_json_500(api, alice, broken_selectors, path):
    assert_error(api.get(path), HTTPStatus.INTERNAL_SERVER_ERROR)


@pytest.mark.parametrize(
    "send",
    [
        lambda api: api.get("/latest"),
        lambda api: api.get("/msgs?latest=3"),
        lambda api: api.post("/msgs/alice?latest=4", {"content": "hi"}),
        lambda api: api.post("/register", {"username": "c", "email": "c@x", "pwd": "p"}),
        lambda api: api.post("/fllws/alice", {"follow": "bob"}),
    ],
    ids=["latest", "read-in-transaction", "post", "register", "follow"],
)
def test_a_database_outage_is_a_json_503_with_retry_after(api, alice, bob, database_outage, send):
    response = send(api)
    assert_error(response, HTTPStatus.SERVICE_UNAVAILABLE)
    assert response["Retry-After"] == "5"


def test_an_outage_is_a_warning_without_a_traceback(api, alice, database_outage, caplog):
    with caplog.at_level(logging.INFO):
        api.get("/msgs")
    assert [r.levelno for r in caplog.records if r.name == "minitwit.outage"] == [logging.WARNING]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

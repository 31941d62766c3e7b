"""Fixtures for the simulator API tests: a client that speaks the protocol, and users."""

import base64
import json
from http import HTTPStatus

import pytest
from django.test import Client

# The web UI's users, shared rather than defined twice.
from timeline.tests.conftest import alice, bob  # noqa: F401


def basic_auth(username: str = "simulator", password: str = "super_safe!") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class SimulatorClient:
    """Sends requests the way the course simulator does: JSON bodies, Basic auth."""

    def __init__(self, authorization: str | None = None, **defaults):
        self.client = Client(**defaults)
        self.headers = {"Authorization": authorization} if authorization else {}

    def get(self, path: str, **extra):
        return self.client.get(path, headers=self.headers, **extra)

    def post(self, path: str, body=None, *, raw: bytes | str | None = None, **extra):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        extra.setdefault("content_type", "application/json")
        return self.client.post(path, data, headers=self.headers, **extra)

    def generic(self, method: str, path: str, **extra):
        return self.client.generic(method, path, headers=self.headers, **extra)


def assert_error(response, status: HTTPStatus, message: str | None = None) -> dict:
    """A protocol error: this status, a JSON body repeating it, and a message."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"status", "error_msg"}
    assert body["status"] == status
    assert body["error_msg"]
    if message is not None:
        assert body["error_msg"] == message
    return body


@pytest.fixture
def sim():
    """The simulator, with the right credentials."""
    return SimulatorClient(basic_auth())


@pytest.fixture
def anonymous():
    return SimulatorClient()

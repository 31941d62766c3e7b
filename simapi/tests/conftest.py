"""Helpers of the simulator API tests: a client that speaks the protocol, its error check,
and a small scenario. The `sim` and `anonymous` clients and the users are fixtures of the
root conftest.py, shared with the site-wide tests."""

import base64
import json
from http import HTTPStatus

from django.test import Client

from timeline.tests.conftest import SHARED

# The course's whole scenario, when ../shared holds it (tests that need it skip otherwise).
SHARED_SCENARIO = SHARED / "minitwit_scenario.csv"


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


# A small scenario in the course's format, with every command and every quirk the real one
# has: passwords with quotes and backslashes, a second follow of someone already followed,
# an unfollow of someone not followed, and a re-follow after an unfollow.
SCENARIO = (
    "\n".join(
        "\t".join(row)
        for row in [
            (
                "0",
                "0",
                "1582246860738",
                "register",
                "Roger Histand",
                "Roger+Histand@hotmail.com",
                "]=)[X{Km{z",
            ),
            (
                "1",
                "13700323",
                "1582260561061",
                "register",
                "Wendell Ballan",
                "Wendell-Ballan@gmail.com",
                "6cl_[\\",
            ),
            (
                "2",
                "5867164",
                "1582266428225",
                "register",
                "Nathan Sirmon",
                "Nathan+Sirmon@dtu.dk",
                'Qm"oZ=.D0',
            ),
            (
                "3",
                "3614448",
                "1582270042673",
                "tweet",
                "Roger Histand",
                "“Then I was fairly within,” he said.",
            ),
            ("4", "1", "1582270042674", "follow", "Roger Histand", "Wendell Ballan"),
            ("5", "1", "1582270042675", "follow", "Roger Histand", "Nathan Sirmon"),
            ("6", "1", "1582270042676", "follow", "Roger Histand", "Wendell Ballan"),
            ("7", "1", "1582270042677", "unfollow", "Nathan Sirmon", "Roger Histand"),
            ("8", "1", "1582270042678", "tweet", "Roger Histand", "Second"),
            ("9", "1", "1582270042679", "unfollow", "Roger Histand", "Wendell Ballan"),
            ("10", "1", "1582270042680", "follow", "Roger Histand", "Wendell Ballan"),
            ("11", "1", "1582270042681", "tweet", "Wendell Ballan", "Hello"),
        ]
    )
    + "\n"
)

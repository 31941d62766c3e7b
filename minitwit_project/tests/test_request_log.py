"""Every request leaves one JSON line; its id follows it through every line logged."""

import json
import os
import subprocess
import sys
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from simapi.tests.conftest import basic_auth
from timeline.tests.factories import UserFactory

from .conftest import ROOT, load_settings

pytestmark = [pytest.mark.django_db, pytest.mark.urls("minitwit_project.tests.observed_urls")]


def test_a_request_leaves_one_line_with_its_facts(client, log_output):
    response = client.get("/public")

    assert response.status_code == HTTPStatus.OK
    [line] = log_output.requests()
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/public"
    assert line["status"] == HTTPStatus.OK
    assert line["view"] == "timeline:public"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] is None
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["time"].endswith("+00:00")


def test_every_line_is_a_json_object_on_its_own(client, log_output):
    client.get("/public")
    client.get("/test/chatty")

    raw = log_output.text.splitlines()
    assert len(raw) == 4
    assert all(isinstance(json.loads(line), dict) for line in raw)


def test_a_signed_in_users_id_is_in_the_line(client, log_output):
    alice = UserFactory(username="alice")
    client.force_login(alice)

    client.get("/")

    [line] = log_output.requests()
    assert line["user_id"] == alice.pk


def test_a_sane_request_id_from_the_proxy_is_kept_and_returned(client, log_output):
    response = client.get("/public", headers={"X-Request-ID": "edge-7f3a9c1e.42"})

    assert response.headers["X-Request-ID"] == "edge-7f3a9c1e.42"
    assert log_output.requests()[0]["request_id"] == "edge-7f3a9c1e.42"


@pytest.mark.parametrize(
    "given",
    ["", "has space", 'x"}\n{"level": "CRITICAL', "a" * 129, "ünïcode", "-leading-dash"],
)
def test_a_malformed_request_id_is_replaced_by_a_new_one(client, log_output, given):
    response = client.get("/public", headers={"X-Request-ID": given})

    returned = response.headers["X-Request-ID"]
    assert returned != given
    assert len(returned) == 32 and int(returned, 16) >= 0
    assert log_output.requests()[0]["request_id"] == returned
    assert given not in log_output.text or given == ""


def test_lines_logged_while_serving_carry_the_request_id(client, log_output):
    response = client.get("/test/chatty", headers={"X-Request-ID": "abc-123"})

    lines = log_output.lines
    assert [line["message"] for line in lines] == [
        "working on it",
        "still working",
        "GET /test/chatty 200",
    ]
    assert {line["request_id"] for line in lines} == {"abc-123"}
    assert response.headers["X-Request-ID"] == "abc-123"


def test_a_server_error_is_one_error_line_with_the_whole_traceback(log_output):
    client = Client(raise_request_exception=False)

    response = client.get("/test/broken")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    [line] = log_output.lines
    assert line["logger"] == "minitwit.request"
    assert line["level"] == "ERROR"
    assert line["status"] == HTTPStatus.INTERNAL_SERVER_ERROR
    assert line["exc_type"] == "builtins.RuntimeError"
    assert line["exc_message"] == "kaput"
    assert line["traceback"].startswith("Traceback (most recent call last):")
    assert 'in broken\n    raise RuntimeError("kaput")' in line["traceback"]
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_client_errors_are_one_warning_line_without_djangos_repeat(client, log_output):
    response = client.get("/no-such-user")

    assert response.status_code == HTTPStatus.NOT_FOUND
    [line] = log_output.lines
    assert line["level"] == "WARNING"
    assert line["status"] == HTTPStatus.NOT_FOUND
    assert "traceback" not in line


def test_a_bad_host_header_is_explained_once_without_a_traceback(client, log_output):
    response = client.get("/public", headers={"Host": "evil.example"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    security, request = log_output.lines
    assert security["logger"] == "django.security.DisallowedHost"
    assert "evil.example" in security["message"]
    assert "traceback" not in security
    assert request["status"] == HTTPStatus.BAD_REQUEST
    assert security["request_id"] == request["request_id"]


def test_successful_probes_are_logged_only_at_debug_level(client, log_output, debug_logging):
    client.get("/health")
    [line] = log_output.requests()
    assert line["level"] == "DEBUG"
    assert line["path"] == "/health"


def test_successful_probes_stay_out_of_the_info_log(client, log_output):
    client.get("/health")
    client.get("/ready")
    assert log_output.requests() == []


def test_no_secret_reaches_the_log(client, log_output, debug_logging):
    """Passwords, Authorization headers, session ids, cookies and query strings are never
    written, even at DEBUG with SQL logging forced on."""
    password = "Tr0ub4dor&3-horse"
    token = basic_auth().removeprefix("Basic ")
    with CaptureQueriesContext(connection):
        client.post(
            "/register",
            {
                "username": "carol",
                "email": "carol@example.com",
                "password": password,
                "password2": password,
            },
        )
        client.post("/login", {"username": "carol", "password": password})
        session_id = client.cookies["sessionid"].value
        client.get("/", headers={"Authorization": f"Basic {token}"})
        client.get("/sim/latest?latest=5&password=hunter22&token=qs-secret-token")
        client.post("/add_message", {"text": "hello"}, headers={"Authorization": "Bearer tk-9"})

    assert len(log_output.requests()) == 5
    for secret in (
        password,
        token,
        "super_safe!",
        session_id,
        "sessionid",
        "hunter22",
        "qs-secret-token",
        "tk-9",
        "argon2",
        "md5$",
    ):
        assert secret not in log_output.text, secret


def test_an_unknown_log_level_is_refused(tmp_path):
    result = load_settings({"LOG_LEVEL": "CHATTY"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "LOG_LEVEL" in result.stderr


def test_the_log_level_comes_from_the_environment(tmp_path):
    result = load_settings(
        {"LOG_LEVEL": "warning"},
        expr="__import__('logging').getLogger().level",
        tmp_path=tmp_path,
    )
    assert result.stdout.strip() == "30", result.stderr


def test_management_commands_log_json_too(tmp_path):
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('timeline').warning('from a command')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "MINITWIT_DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "minitwit_project.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = json.loads(result.stdout)
    assert line["message"] == "from a command"
    assert line["level"] == "WARNING"
    assert "request_id" not in line

"""The OpenAPI schema at /api/schema/ says what the endpoints really do: the same paths and
methods, every documented status is one the endpoint really answers (and vice versa), and
real responses and accepted requests validate against the documented schemas."""

import copy
import datetime as dt
import re
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver
from drf_spectacular.validation import validate_schema
from jsonschema import Draft7Validator, FormatChecker

from simapi.protocol import SimulatorAPIView
from timeline.tests.factories import FollowFactory, MessageFactory

from .conftest import SimulatorClient, basic_auth

pytestmark = pytest.mark.django_db

HUGE = '{"content": "' + "x" * 3_000_000 + '"}'

# (method, documented path, real path, JSON body or raw text, expected status)
CASES = [
    ("get", "/latest", "/latest", None, 200),
    ("get", "/register", "/register", None, 200),
    ("post", "/register", "/register", {"username": "c", "email": "c@x", "pwd": "p"}, 204),
    ("post", "/register", "/register", {"username": "c", "email": "nope", "pwd": "p"}, 400),
    ("post", "/register", "/register", HUGE, 413),
    ("post", "/register", "/register", "text", 415),
    ("get", "/msgs", "/msgs?no=5", None, 200),
    ("get", "/msgs", "/msgs?no=-5", None, 400),
    ("get", "/msgs/{username}", "/msgs/alice", None, 200),
    ("get", "/msgs/{username}", "/msgs/alice?no=x", None, 400),
    ("get", "/msgs/{username}", "/msgs/nobody", None, 404),
    ("post", "/msgs/{username}", "/msgs/alice", {"content": "hello"}, 204),
    ("post", "/msgs/{username}", "/msgs/alice", {"content": ""}, 400),
    ("post", "/msgs/{username}", "/msgs/nobody", {"content": "hello"}, 404),
    ("post", "/msgs/{username}", "/msgs/alice", HUGE, 413),
    ("post", "/msgs/{username}", "/msgs/alice", "text", 415),
    ("get", "/fllws/{username}", "/fllws/alice", None, 200),
    ("get", "/fllws/{username}", "/fllws/alice?no=1.5", None, 400),
    ("get", "/fllws/{username}", "/fllws/nobody", None, 404),
    ("post", "/fllws/{username}", "/fllws/alice", {"follow": "bob"}, 204),
    ("post", "/fllws/{username}", "/fllws/alice", {"unfollow": "bob"}, 204),
    ("post", "/fllws/{username}", "/fllws/alice", {"follow": "alice"}, 400),
    ("post", "/fllws/{username}", "/fllws/alice", {"follow": "nobody"}, 404),
    ("post", "/fllws/{username}", "/fllws/alice", HUGE, 413),
    ("post", "/fllws/{username}", "/fllws/alice", "text", 415),
]
# Every protected operation, without credentials.
CASES += [
    (method, documented, real.split("?")[0], body, 403)
    for method, documented, real, body, status in CASES
    if status == 200 and documented not in ("/latest", "/register") or status == 204
]
# Every operation while the database is unavailable (the sign-up page needs none).
CASES += [
    (method, documented, real.split("?")[0], body, 503)
    for method, documented, real, body, status in CASES
    if status in (200, 204) and (method, documented) != ("get", "/register")
]

format_checker = FormatChecker()


@format_checker.checks("date-time", raises=ValueError)
def _is_rfc3339(value) -> bool:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == HTTPStatus.OK
    return response.json()


@pytest.fixture
def world(alice, bob):
    MessageFactory(author=alice, text="hi")
    FollowFactory(follower=alice, followed=bob)


def _closed(node):
    """The schema with every object closed: a response key it does not list is an error."""
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if "properties" in node:
            node.setdefault("additionalProperties", False)
    elif isinstance(node, list):
        node = [_closed(value) for value in node]
    return node


def validator(schema: dict, fragment: dict) -> Draft7Validator:
    root = {**_closed(copy.deepcopy(fragment)), "components": _closed(schema["components"])}
    return Draft7Validator(root, format_checker=format_checker)


def send(method, path, body, status):
    # A 503 comes from handler500, which the test client would re-raise as the exception.
    client = SimulatorClient(
        None if status == 403 else basic_auth(), raise_request_exception=status != 503
    )
    if method == "get":
        return client.get(path)
    if isinstance(body, str):
        content_type = "text/plain" if body == "text" else "application/json"
        return client.post(path, raw=body, content_type=content_type)
    return client.post(path, body)


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_the_schema_lists_exactly_the_simulator_endpoints_and_methods(schema):
    real = {}
    for pattern in get_resolver().url_patterns:
        for entry in getattr(pattern, "url_patterns", [pattern]):
            view = getattr(getattr(entry, "callback", None), "cls", None)
            if isinstance(entry, URLPattern) and view and issubclass(view, SimulatorAPIView):
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(entry.pattern))
                real[path] = {
                    m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)
                }
    real["/register"].add("get")  # the sign-up page, which shares the path
    documented = {path: set(operations) for path, operations in schema["paths"].items()}
    assert documented == real


def test_every_documented_status_is_exercised_and_every_real_one_documented(schema):
    documented = {
        (path, method, int(status))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    exercised = {(path, method, status) for method, path, _, _, status in CASES}
    assert documented == exercised


@pytest.mark.parametrize(
    ("method", "documented", "path", "body", "status"),
    CASES,
    ids=[f"{c[0]} {c[2]} {c[4]}" for c in CASES],
)
def test_real_responses_match_the_documented_ones(
    schema, world, request, method, documented, path, body, status
):
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        request.getfixturevalue("database_outage")
    response = send(method, path, body, status)
    assert response.status_code == status, response.content
    operation = schema["paths"][documented][method]
    declared = operation["responses"][str(status)]
    if "content" not in declared:
        assert response.content == b""
        return
    if "text/html" in declared["content"]:
        assert response["Content-Type"] == "text/html; charset=utf-8"
        return
    assert response["Content-Type"] == "application/json"
    media = declared["content"]["application/json"]["schema"]
    errors = [e.message for e in validator(schema, media).iter_errors(response.json())]
    assert not errors, (response.json(), errors)
    if status < 300 and isinstance(body, dict):
        request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert not list(validator(schema, request_schema).iter_errors(body))


def test_a_wrong_type_breaks_the_documented_request_schema_too(schema):
    request = schema["paths"]["/msgs/{username}"]["post"]["requestBody"]
    media = request["content"]["application/json"]["schema"]
    assert not validator(schema, media).is_valid({"content": 5})
    assert not validator(schema, media).is_valid({})


def test_the_documented_default_and_cap_of_no_are_the_real_ones(schema):
    from simapi.serializers import DEFAULT_NO, MAX_NO

    parameters = schema["paths"]["/msgs"]["get"]["parameters"]
    no = next(p for p in parameters if p["name"] == "no")
    assert no["schema"]["default"] == DEFAULT_NO
    assert no["schema"]["minimum"] == 0
    assert str(MAX_NO) in no["description"]


def test_the_docs_say_how_to_authenticate(schema):
    assert schema["components"]["securitySchemes"]["simulatorBasic"]["scheme"] == "basic"
    assert schema["paths"]["/msgs"]["get"]["security"] == [{"simulatorBasic": []}]
    assert "security" not in schema["paths"]["/latest"]["get"]

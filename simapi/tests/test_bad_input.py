"""Bad input never yields a 500: every refusal is a 4xx with a JSON error body, and
nothing is stored."""

from http import HTTPStatus

import pytest

from timeline.models import Follow, Message, User

from .conftest import assert_error

pytestmark = pytest.mark.django_db

POST_PATHS = ["/register", "/msgs/alice", "/fllws/alice"]
GET_PATHS = ["/msgs", "/msgs/alice", "/fllws/alice"]


@pytest.fixture(autouse=True)
def nothing_is_stored(alice, bob):
    yield
    assert not Message.objects.exists()
    assert not Follow.objects.exists()
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "bob"}


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize(
    "raw",
    [
        '{"content": "x",}',
        "{'single': 'quotes'}",
        '{"content": "unterminated',
        "",
        "   ",
        "NaN",
        '{"content": NaN}',
        '{"content": Infinity}',
    ],
)
def test_malformed_json_is_a_400(sim, path, raw):
    response = sim.post(path, raw=raw)
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert_error(response, HTTPStatus.BAD_REQUEST)


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("raw", ["[]", '["content"]', '"content"', "42", "true", "null"])
def test_json_that_is_not_an_object_is_a_400(sim, path, raw):
    assert_error(sim.post(path, raw=raw), HTTPStatus.BAD_REQUEST)


@pytest.mark.parametrize("path", POST_PATHS)
def test_deeply_nested_json_is_a_400_not_a_crash(sim, path):
    assert_error(sim.post(path, raw="[" * 100_000 + "]" * 100_000), HTTPStatus.BAD_REQUEST)


@pytest.mark.parametrize("path", POST_PATHS)
def test_a_body_that_is_not_utf8_is_a_400(sim, path):
    assert_error(sim.post(path, raw=b'{"content": "\xff\xfe"}'), HTTPStatus.BAD_REQUEST)


@pytest.mark.parametrize("path", POST_PATHS)
def test_an_oversized_body_is_a_413(sim, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"content": "' + "x" * 2000 + '"}'
    assert_error(sim.post(path, raw=body), HTTPStatus.REQUEST_ENTITY_TOO_LARGE)


def test_a_body_just_under_the_limit_is_read(sim, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"content": "' + "x" * 972 + '", "follow": 1}'
    assert len(body) == 1000
    # Parsed, then refused by the serializer (a wrong type), not by the size limit.
    assert_error(sim.post("/fllws/alice", raw=body), HTTPStatus.BAD_REQUEST)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/register", {"username": "eve\x00", "email": "e@x", "pwd": "p"}),
        ("/register", {"username": "eve", "email": "e\x00@x", "pwd": "p"}),
        ("/register", {"username": "eve", "email": "e@x", "pwd": "p\x00"}),
        ("/msgs/alice", {"content": "nul\x00byte"}),
        ("/fllws/alice", {"follow": "bob\x00"}),
        ("/fllws/alice", {"unfollow": "\x00"}),
    ],
)
def test_nul_bytes_in_the_body_are_a_400(sim, path, body):
    assert_error(sim.post(path, body), HTTPStatus.BAD_REQUEST)


@pytest.mark.parametrize("path", ["/msgs/al%00ice", "/fllws/%00"])
def test_a_nul_byte_in_the_username_is_an_unknown_user(sim, path):
    assert_error(sim.get(path), HTTPStatus.NOT_FOUND)
    assert_error(sim.post(path, {"content": "x", "follow": "bob"}), HTTPStatus.NOT_FOUND)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/register", {"username": 5, "email": "e@x", "pwd": "p"}),
        ("/register", {"username": "eve", "email": ["e@x"], "pwd": "p"}),
        ("/register", {"username": "eve", "email": "e@x", "pwd": 1234}),
        ("/register", {"username": {"name": "eve"}, "email": "e@x", "pwd": "p"}),
        ("/register", {"username": True, "email": "e@x", "pwd": "p"}),
        ("/msgs/alice", {"content": 3.5}),
        ("/msgs/alice", {"content": ["x"]}),
        ("/fllws/alice", {"follow": {"username": "bob"}}),
        ("/fllws/alice", {"unfollow": False}),
    ],
)
def test_wrong_types_are_a_400(sim, path, body):
    body = assert_error(sim.post(path, body), HTTPStatus.BAD_REQUEST)
    assert "Not a valid string." in body["error_msg"]


# int() alone would take the last five (as 7, 7, 7, 10 and 3).
NOT_WHOLE_NUMBERS = ["abc", "-1", "1.5", "1e3", "%00", "0x10", "9" * 2000, "²"]
NOT_WHOLE_NUMBERS += ["%207", "7.0", "%2B7", "1_0", "٣"]


@pytest.mark.parametrize("path", GET_PATHS)
@pytest.mark.parametrize("no", NOT_WHOLE_NUMBERS)
def test_a_no_that_is_not_a_whole_number_from_zero_is_a_400(sim, path, no):
    body = assert_error(sim.get(f"{path}?no={no}"), HTTPStatus.BAD_REQUEST)
    assert body["error_msg"].startswith("no: ")


@pytest.mark.parametrize("path", GET_PATHS)
def test_an_empty_no_means_the_default(sim, path):
    assert sim.get(f"{path}?no=").status_code == HTTPStatus.OK


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/msgs"), ("PUT", "/msgs/alice")])
def test_an_unsupported_method_is_a_405_in_json(sim, method, path):
    assert_error(sim.generic(method, path), HTTPStatus.METHOD_NOT_ALLOWED)


@pytest.mark.parametrize("path", ["/msgs/alice", "/fllws/alice"])
def test_a_non_json_content_type_is_a_415(sim, path):
    response = sim.post(path, raw="content=x", content_type="text/plain")
    assert_error(response, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


def test_djangos_own_404_also_gets_the_json_error_body(sim, monkeypatch):
    from django.http import Http404

    def missing(*, usernames):
        raise Http404("gone")

    monkeypatch.setattr("timeline.selectors.user_ids_by_name", missing)
    assert_error(sim.get("/msgs/alice"), HTTPStatus.NOT_FOUND, "gone")


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "nonsense"])
def test_any_accept_header_gets_json(sim, accept):
    response = sim.get("/msgs", HTTP_ACCEPT=accept)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == []

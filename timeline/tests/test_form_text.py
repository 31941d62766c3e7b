"""The sign-up, sign-in and posting forms take text the way the simulator API does: a body
that is not UTF-8 is refused (Django would have stored U+FFFD in its place, while the API
refused the same bytes), and so are NUL and over-long values, with the API's texts."""

import json
from http import HTTPStatus
from urllib.parse import quote_from_bytes

import pytest

from simapi.tests.conftest import basic_auth
from timeline.models import Message, User

pytestmark = pytest.mark.django_db

NOT_TEXT = "The form was not sent as UTF-8 text."
FORM = "application/x-www-form-urlencoded"


def multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "BoUnDaRy"
    parts = [
        b"--" + boundary.encode() + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in fields.items()
    ]
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


SIGN_UP = {"username": b"caf\xe9", "email": b"c@x", "password": b"p", "password2": b"p"}


def urlencoded(fields: dict[str, bytes]) -> bytes:
    return b"&".join(
        name.encode() + b"=" + quote_from_bytes(value).encode() for name, value in fields.items()
    )


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_sign_up_form_that_is_not_utf8_is_refused_not_stored_as_replacement_characters(
    client, encoding
):
    # "café" in Latin-1: the é is the byte E9, which is not UTF-8.
    if encoding == "urlencoded":
        body, content_type = urlencoded(SIGN_UP), FORM
    else:
        body, content_type = multipart(SIGN_UP)
    response = client.post("/register", body, content_type=content_type)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert f"<strong>Error:</strong> {NOT_TEXT}" in response.text
    assert not User.objects.exists()


def test_the_api_refuses_the_same_bytes(client):
    body = b'{"username": "caf\xe9", "email": "c@x", "pwd": "p"}'
    response = client.post(
        "/register", body, content_type="application/json", HTTP_AUTHORIZATION=basic_auth()
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not User.objects.exists()


def test_a_message_that_is_not_utf8_is_refused_with_a_reason(alice_client):
    body = urlencoded({"text": b"na\xefve"})
    response = alice_client.post("/add_message", body, content_type=FORM, follow=True)
    assert NOT_TEXT in response.text
    assert not Message.objects.exists()


def test_a_sign_in_that_is_not_utf8_is_a_400(client, alice):
    body = urlencoded({"username": b"alic\xe9", "password": b"secret"})
    response = client.post("/login", body, content_type=FORM)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert NOT_TEXT in response.text
    assert "_auth_user_id" not in client.session


def test_a_form_in_another_charset_is_refused_with_a_reason(client):
    # Django's own rule for urlencoded forms, which agrees with ours.
    body = urlencoded(SIGN_UP)
    response = client.post("/register", body, content_type=f"{FORM}; charset=iso-8859-1")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "must be UTF-8 encoded" in response.text
    assert not User.objects.exists()


def test_a_typed_replacement_character_is_text_like_any_other(alice_client):
    alice_client.post("/add_message", {"text": "� is a character too"})
    assert Message.objects.get().text == "� is a character too"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "nul\x00", "Null characters are not allowed."),
        ("email", "c\x00@x", "Null characters are not allowed."),
        ("password", "p\x00", "Null characters are not allowed."),
        ("username", "x" * 151, "The username can be at most 150 characters long"),
        ("email", "x@" + "x" * 253, "You have to enter a valid email address"),
    ],
)
def test_the_page_and_the_api_refuse_bad_text_with_the_same_words(client, field, value, message):
    form = {"username": "carol", "email": "c@x", "password": "p", "password2": "p", field: value}
    if field == "password":
        form["password2"] = value
    page = client.post("/register", form)
    assert f"<strong>Error:</strong> {message}" in page.text
    api_field = "pwd" if field == "password" else field
    body = {"username": "carol", "email": "c@x", "pwd": "p", api_field: value}
    api = client.post(
        "/register",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(),
    )
    assert api.status_code == HTTPStatus.BAD_REQUEST
    assert api.json()["error_msg"].endswith(message)
    assert not User.objects.exists()

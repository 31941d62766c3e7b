"""Every HTML form and page parameter against arbitrary text (NUL, lone surrogates,
right-to-left marks, 10,000-character strings) and integers: never a 5xx, and what was sent
is either stored exactly or refused with a message the page shows."""

import html
import re
from http import HTTPStatus
from urllib.parse import quote

import pytest
from axes.utils import reset as axes_reset
from hypothesis import given

from timeline.models import Message, User

from .strategies import HOSTILE, hostile_integer, hostile_text, is_utf8_text, urlencoded

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
ERROR = re.compile(r"<strong>Error:</strong> ([^<]+)</div>")
FLASH = re.compile(r'<li class="(success|error)">([^<]+)</li>')


def page_error(response) -> str | None:
    found = ERROR.search(response.text)
    return html.unescape(found.group(1)) if found else None


@HOSTILE
@given(username=hostile_text, email=hostile_text, password=hostile_text)
def test_sign_up_stores_exactly_or_says_why_not(client, username, email, password):
    users_before = User.objects.count()
    body = urlencoded(
        {"username": username, "email": email, "password": password, "password2": password}
    )
    response = client.post("/register", body, content_type=FORM)
    assert response.status_code < 500
    if response.status_code == HTTPStatus.FOUND:
        user = User.objects.get(username=username)
        assert (user.email, user.check_password(password)) == (email, True)
        assert User.objects.count() == users_before + 1
    else:
        assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST)
        assert page_error(response), "a refusal must say why"
        assert User.objects.count() == users_before
        if not is_utf8_text(username + email + password):
            assert page_error(response) == "The form was not sent as UTF-8 text."


@HOSTILE
@given(username=hostile_text, password=hostile_text)
def test_sign_in_never_breaks(client, alice, username, password):
    # Each example is a new visitor: the examples share one database, where more than
    # AXES_FAILURE_LIMIT failures would lock this address out (test_signin_throttling.py).
    axes_reset()
    body = urlencoded({"username": username, "password": password})
    response = client.post("/login", body, content_type=FORM)
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST)
    assert page_error(response)
    assert "_auth_user_id" not in client.session


@HOSTILE
@given(text=hostile_text)
def test_posting_stores_exactly_or_says_why_not(alice_client, text):
    messages_before = Message.objects.count()
    response = alice_client.post(
        "/add_message", urlencoded({"text": text}), content_type=FORM, follow=True
    )
    assert response.status_code == HTTPStatus.OK
    kind, flash = FLASH.search(response.text).groups()
    if kind == "success":
        assert flash == "Your message was recorded"
        assert Message.objects.order_by("-id").first().text == text
        assert Message.objects.count() == messages_before + 1
    else:
        assert html.unescape(flash)
        assert Message.objects.count() == messages_before


@HOSTILE
@given(name=hostile_text, page=hostile_integer)
def test_pages_with_any_name_and_page_number_never_break(alice_client, name, page):
    path = "/" + quote(name.encode("utf-8", "surrogatepass"), safe="")
    query = "?page=" + quote(page.encode("utf-8", "surrogatepass"), safe="")
    for url in (path, path + "/follow", path + "/unfollow", "/public", "/"):
        response = alice_client.get(url + query)
        assert response.status_code < 500, url

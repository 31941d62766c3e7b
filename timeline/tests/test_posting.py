from http import HTTPStatus

import pytest

from timeline.models import MESSAGE_MAX_LENGTH, Message

pytestmark = pytest.mark.django_db


def test_a_posted_message_appears_on_my_timeline(alice_client):
    response = alice_client.post("/add_message", {"text": "Hello, world"}, follow=True)
    assert "Your message was recorded" in response.text
    assert "Hello, world" in response.text
    assert Message.objects.get().text == "Hello, world"


def test_markup_is_stored_as_typed_and_shown_escaped_once(alice_client):
    text = '<script>alert("x")</script> & <b>bold</b>'
    alice_client.post("/add_message", {"text": text})
    assert Message.objects.get().text == text
    page = alice_client.get("/public").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&amp;lt;" not in page, "escaped twice"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "You have to enter a message"),
        ("   ", "You have to enter a message"),
        ("x" * (MESSAGE_MAX_LENGTH + 1), f"at most {MESSAGE_MAX_LENGTH} characters"),
        # The API's text for the same character (issue 10: one policy for both).
        ("nul\x00byte", "Null characters are not allowed."),
        ("bell\x07", "A message cannot contain control characters"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(alice_client, text, error):
    response = alice_client.post("/add_message", {"text": text}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert error in response.text
    assert not Message.objects.exists()


def test_a_message_of_the_maximum_length_is_accepted(alice_client):
    alice_client.post("/add_message", {"text": "y" * MESSAGE_MAX_LENGTH})
    assert Message.objects.get().text == "y" * MESSAGE_MAX_LENGTH


def test_visitors_cannot_post(client):
    response = client.post("/add_message", {"text": "anonymous"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/login")
    assert not Message.objects.exists()


def test_a_get_shows_the_box_to_write_a_message_in_and_posts_nothing(alice_client):
    # Issue 10 asks for a designed page here rather than the bare 405 it used to be.
    response = alice_client.get("/add_message")
    assert response.status_code == HTTPStatus.OK
    assert "What's on your mind alice?" in response.text
    assert 'action="/add_message" method="post"' in response.text
    assert not Message.objects.exists()


def test_visitors_who_open_the_posting_page_are_asked_to_sign_in(client):
    response = client.get("/add_message")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/login")

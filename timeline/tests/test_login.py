from http import HTTPStatus

import pytest

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signing_in_shows_the_personal_timeline(client, alice):
    response = client.post("/login", {"username": "alice", "password": "secret"}, follow=True)
    assert response.redirect_chain == [("/", HTTPStatus.FOUND)]
    assert "You were logged in" in response.text
    assert "My Timeline" in response.text
    assert "sign out [alice]" in response.text


def test_an_unknown_username_is_reported(client, alice):
    response = client.post("/login", {"username": "alicia", "password": "secret"})
    assert "<strong>Error:</strong> Invalid username" in response.text
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_reported(client, alice):
    response = client.post("/login", {"username": "alice", "password": "wrong"})
    assert "<strong>Error:</strong> Invalid password" in response.text
    assert 'value="alice"' in response.text
    assert "_auth_user_id" not in client.session


def test_a_deactivated_user_cannot_sign_in(client):
    UserFactory(username="gone", is_active=False)
    response = client.post("/login", {"username": "gone", "password": "secret"})
    assert "This account has been deactivated" in response.text
    assert "_auth_user_id" not in client.session


def test_signing_out_says_so_and_shows_the_public_timeline(alice_client):
    response = alice_client.post("/logout", follow=True)
    assert "You were logged out" in response.text
    assert "_auth_user_id" not in alice_client.session
    assert response.redirect_chain[-1][0] == "/public"


def test_a_visitor_is_sent_from_my_timeline_to_the_public_one(client):
    response = client.get("/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/public"

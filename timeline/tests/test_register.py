from http import HTTPStatus

import pytest

from timeline.models import User

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def register(client, **overrides):
    data = {
        "username": "carol",
        "email": "carol@example.com",
        "password": "pw",
        "password2": "pw",
        **overrides,
    }
    return client.post("/register", data, follow=True)


def test_registering_redirects_to_sign_in_with_a_welcome(client):
    response = register(client)
    assert response.redirect_chain == [("/login", HTTPStatus.FOUND)]
    assert "You were successfully registered and can login now" in response.text
    assert User.objects.get(username="carol").check_password("pw")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"username": ""}, "You have to enter a username"),
        ({"email": ""}, "You have to enter a valid email address"),
        ({"email": "carol-at-example.com"}, "You have to enter a valid email address"),
        ({"password": "", "password2": ""}, "You have to enter a password"),
        ({"password2": "other"}, "The two passwords do not match"),
    ],
)
def test_registration_errors_are_shown_and_nothing_is_created(client, overrides, error):
    response = register(client, **overrides)
    assert response.status_code == HTTPStatus.OK
    assert f"<strong>Error:</strong> {error}" in response.text
    assert not User.objects.exists()


def test_a_taken_username_is_refused(client):
    UserFactory(username="carol")
    response = register(client)
    assert "The username is already taken" in response.text
    assert User.objects.count() == 1


def test_the_form_keeps_what_was_typed_after_an_error(client):
    response = register(client, password2="other")
    assert 'value="carol"' in response.text
    assert 'value="carol@example.com"' in response.text


@pytest.mark.parametrize("username", ["public", "login", "a/b", "tab\there", " padded"])
def test_names_that_would_break_profile_urls_are_refused(client, username):
    response = register(client, username=username)
    assert "<strong>Error:</strong>" in response.text
    assert not User.objects.exists()


def test_a_signed_in_user_is_sent_to_their_timeline(client):
    client.force_login(UserFactory())
    response = client.get("/register")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"


def test_the_password_is_stored_as_a_slow_salted_hash(client, settings):
    settings.PASSWORD_HASHERS = ["timeline.hashers.MiniTwitArgon2Hasher"]
    register(client)
    register(client, username="dave", email="dave@example.com")
    carol, dave = (User.objects.get(username=name).password for name in ("carol", "dave"))
    assert carol.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert carol != dave, "the same password must hash differently (salt)"

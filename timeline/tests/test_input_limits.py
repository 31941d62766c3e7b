"""Every input has a maximum, the password included, and over-long input is refused with a
4xx before anything is hashed."""

from http import HTTPStatus

import pytest

from timeline.models import User
from timeline.validators import PASSWORD_MAX_LENGTH

from .conftest import MEGABYTE_PASSWORD
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def _sign_up(client, password, repeat=None):
    return client.post(
        "/register",
        {
            "username": "long",
            "email": "long@example.com",
            "password": password,
            "password2": password if repeat is None else repeat,
        },
    )


def test_a_megabyte_password_is_refused_without_hashing(client, hashing):
    response = _sign_up(client, MEGABYTE_PASSWORD)
    assert HTTPStatus.BAD_REQUEST <= response.status_code < 500
    assert not User.objects.filter(username="long").exists()
    assert hashing == []


def test_a_password_over_the_limit_is_a_400_that_says_why(client, hashing):
    response = _sign_up(client, "x" * (PASSWORD_MAX_LENGTH + 1))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert f"at most {PASSWORD_MAX_LENGTH} characters" in response.text
    assert not User.objects.filter(username="long").exists()
    assert hashing == []


def test_a_repeat_over_the_limit_is_refused_too(client, hashing):
    response = _sign_up(client, "secret", repeat="x" * (PASSWORD_MAX_LENGTH + 1))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert hashing == []


def test_a_password_of_exactly_the_limit_signs_up_and_in(client):
    password = "p" * PASSWORD_MAX_LENGTH
    assert _sign_up(client, password).status_code == HTTPStatus.FOUND
    response = client.post("/login", {"username": "long", "password": password})
    assert response.status_code == HTTPStatus.FOUND


def test_signing_in_with_an_over_long_password_is_a_400_without_hashing(client, hashing):
    UserFactory(username="long")
    hashing.clear()
    response = client.post(
        "/login", {"username": "long", "password": "x" * (PASSWORD_MAX_LENGTH + 1)}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert f"at most {PASSWORD_MAX_LENGTH} characters" in response.text
    assert hashing == []


def test_a_form_body_over_the_upload_limit_is_a_413(client, settings):
    response = client.post(
        "/login",
        {"username": "x", "password": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
    )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "KiB the server accepts" in response.text

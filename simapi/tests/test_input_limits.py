"""The API refuses an over-long password with a 4xx before hashing it."""

from http import HTTPStatus

import pytest

from timeline.models import User
from timeline.tests.conftest import MEGABYTE_PASSWORD
from timeline.validators import PASSWORD_MAX_LENGTH

from .conftest import assert_error

pytestmark = pytest.mark.django_db


def _register(sim, password):
    return sim.post("/register", {"username": "long", "email": "l@example.com", "pwd": password})


def test_a_megabyte_password_is_refused_without_hashing(sim, hashing):
    response = _register(sim, MEGABYTE_PASSWORD)
    # Over the body limit (413), or under it and refused by the field's limit (400).
    assert response.status_code in {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
    assert_error(response, response.status_code)
    assert not User.objects.filter(username="long").exists()
    assert hashing == []


def test_a_password_over_the_limit_is_a_400_that_says_why(sim, hashing):
    response = _register(sim, "x" * (PASSWORD_MAX_LENGTH + 1))
    body = assert_error(response, HTTPStatus.BAD_REQUEST)
    assert f"at most {PASSWORD_MAX_LENGTH} characters" in body["error_msg"]
    assert hashing == []


def test_a_password_of_exactly_the_limit_registers(sim):
    assert _register(sim, "p" * PASSWORD_MAX_LENGTH).status_code == HTTPStatus.NO_CONTENT

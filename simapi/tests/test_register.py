from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from timeline.models import User
from timeline.tests.factories import UserFactory

from .conftest import SimulatorClient, assert_error, basic_auth

pytestmark = pytest.mark.django_db


def register(sim, **overrides):
    body = {"username": "Roger Histand", "email": "Roger+Histand@hotmail.com", "pwd": "]=)[X"}
    body.update(overrides)
    return sim.post("/register", {k: v for k, v in body.items() if v is not ...})


def test_registering_answers_204_with_no_body(sim):
    response = register(sim)
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    user = User.objects.get(username="Roger Histand")
    assert user.email == "Roger+Histand@hotmail.com"


def test_the_password_is_kept_exactly_and_works_for_the_web_sign_in(sim):
    password = '  6cl_[\\ "quoted" '
    register(sim, pwd=password)
    assert User.objects.get().check_password(password)
    response = Client().post("/login", {"username": "Roger Histand", "password": password})
    assert response.status_code == HTTPStatus.FOUND


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": ...}, "You have to enter a username"),
        ({"username": ""}, "You have to enter a username"),
        ({"username": None}, "You have to enter a username"),
        ({"email": ...}, "You have to enter a valid email address"),
        ({"email": "roger.example.com"}, "You have to enter a valid email address"),
        ({"pwd": ...}, "You have to enter a password"),
        ({"pwd": ""}, "You have to enter a password"),
        ({"username": ..., "email": ..., "pwd": ...}, "You have to enter a username"),
        ({"username": "latest"}, "The username is already taken"),
        ({"username": "a/b"}, "The username cannot contain '/' or control characters"),
    ],
)
def test_registration_errors_use_the_web_forms_texts(sim, overrides, message):
    assert_error(register(sim, **overrides), HTTPStatus.BAD_REQUEST, message)
    assert not User.objects.exists()


def test_a_taken_username_is_a_400(sim):
    UserFactory(username="Roger Histand")
    assert_error(register(sim), HTTPStatus.BAD_REQUEST, "The username is already taken")
    assert User.objects.count() == 1


def test_usernames_are_case_sensitive(sim):
    UserFactory(username="roger histand")
    assert register(sim).status_code == HTTPStatus.NO_CONTENT


def test_a_form_post_still_reaches_the_sign_up_page(db):
    response = Client().post(
        "/register",
        {"username": "carol", "email": "carol@example.com", "password": "pw", "password2": "pw"},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/login"
    assert User.objects.get().username == "carol"


def test_a_form_post_with_an_error_shows_the_page(db):
    response = Client().post("/register", {"username": "", "email": "x@y", "password": "p"})
    assert response.status_code == HTTPStatus.OK
    assert "<strong>Error:</strong> You have to enter a username" in response.text


def test_the_sign_up_page_keeps_its_cross_origin_protection(db):
    # The page sits inside the API's csrf_exempt view; it must not inherit the exemption.
    form = {"username": "carol", "email": "carol@example.com", "password": "p", "password2": "p"}
    elsewhere = Client(enforce_csrf_checks=True, headers={"Sec-Fetch-Site": "cross-site"})
    assert elsewhere.post("/register", form).status_code == HTTPStatus.FORBIDDEN
    assert not User.objects.exists()
    here = Client(enforce_csrf_checks=True, headers={"Sec-Fetch-Site": "same-origin"})
    assert here.post("/register", form).status_code == HTTPStatus.FOUND
    assert User.objects.filter(username="carol").exists()


def test_the_api_needs_no_csrf_token(db):
    sim = SimulatorClient(basic_auth(), enforce_csrf_checks=True)
    assert register(sim).status_code == HTTPStatus.NO_CONTENT


def test_a_get_shows_the_sign_up_page(client):
    response = client.get("/register")
    assert response.status_code == HTTPStatus.OK
    assert "Sign Up" in response.text


def test_both_route_names_give_the_same_path():
    assert reverse("timeline:register") == "/register"
    assert reverse("simapi:register") == "/register"


def test_a_body_that_is_neither_json_nor_a_form_is_refused_as_json(sim):
    response = sim.post("/register", raw="username=x", content_type="text/plain")
    assert_error(response, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
    assert not User.objects.exists()

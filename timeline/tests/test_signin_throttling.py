"""Sign-in throttling (django-axes, state in the database so every replica shares it):
after AXES_FAILURE_LIMIT failures for one account or from one address, sign-ins are
refused with a 429 on the site and in the admin; others and the simulator API are not."""

import time
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from simapi.tests.conftest import SimulatorClient, basic_auth
from timeline.models import User

from .factories import UserFactory

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
ADMIN_LOGIN = reverse("admin:login")


def _sign_in(client, username, password, path="/login"):
    return client.post(path, {"username": username, "password": password})


def _fail(client, username, times=LIMIT, path="/login"):
    """`times` wrong passwords; the LIMIT-th failure is already answered with the 429."""
    for number in range(1, times + 1):
        response = _sign_in(client, username, "wrong", path)
        expected = HTTPStatus.TOO_MANY_REQUESTS if number >= LIMIT else HTTPStatus.OK
        assert response.status_code == expected, number


def test_the_limit_is_ten_failures_cooling_off_for_fifteen_minutes():
    assert LIMIT == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_after_ten_wrong_passwords_even_the_right_one_is_refused(client, alice):
    _fail(client, "alice")
    response = _sign_in(client, "alice", "secret")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many failed sign-ins" in response.text
    assert "Try again in 15 minutes" in response.text
    assert response["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in client.session


def test_nine_failures_still_let_the_right_password_in(client, alice):
    _fail(client, "alice", times=LIMIT - 1)
    assert _sign_in(client, "alice", "secret").status_code == HTTPStatus.FOUND


def test_the_texts_stay_the_courses_until_the_limit(client, alice):
    assert "Invalid username" in _sign_in(client, "nobody", "x").text
    assert "Invalid password" in _sign_in(client, "alice", "x").text


def test_a_locked_account_is_locked_from_every_address(alice):
    _fail(Client(REMOTE_ADDR="192.0.2.1"), "alice")
    response = _sign_in(Client(REMOTE_ADDR="198.51.100.7"), "alice", "secret")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_another_account_still_signs_in_from_elsewhere(alice, bob):
    _fail(Client(REMOTE_ADDR="192.0.2.1"), "alice")
    response = _sign_in(Client(REMOTE_ADDR="198.51.100.7"), "bob", "secret")
    assert response.status_code == HTTPStatus.FOUND


def test_failures_from_one_address_lock_that_address_for_every_name(alice, bob):
    attacker = Client(REMOTE_ADDR="192.0.2.1")
    for number in range(LIMIT):
        _sign_in(attacker, f"guess{number}", "wrong")
    assert _sign_in(attacker, "bob", "secret").status_code == HTTPStatus.TOO_MANY_REQUESTS
    # bob himself, elsewhere, is unaffected.
    assert _sign_in(Client(REMOTE_ADDR="198.51.100.7"), "bob", "secret").status_code == 302


def test_the_address_is_the_client_behind_our_proxy(alice, bob, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for number in range(LIMIT):
        Client(**via_proxy, HTTP_X_FORWARDED_FOR="192.0.2.1").post(
            "/login", {"username": f"guess{number}", "password": "wrong"}
        )
    # Another client behind the same proxy is not the attacker.
    other = Client(**via_proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert _sign_in(other, "bob", "secret").status_code == HTTPStatus.FOUND


def test_the_admin_sign_in_is_locked_too(client):
    User.objects.create_superuser("moderator", "mod@example.com", "modpass")
    _fail(client, "moderator", path=ADMIN_LOGIN)
    response = _sign_in(client, "moderator", "modpass", ADMIN_LOGIN)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "_auth_user_id" not in client.session


def test_failures_on_the_site_lock_the_admin_and_back(client):
    User.objects.create_superuser("moderator", "mod@example.com", "modpass")
    _fail(client, "moderator")
    assert _sign_in(client, "moderator", "modpass", ADMIN_LOGIN).status_code == 429


def test_the_simulator_api_is_unaffected(client, alice):
    # The simulator's own address and the name "simulator" both locked out of sign-in.
    _fail(client, "alice")
    _fail(Client(REMOTE_ADDR="192.0.2.1"), "simulator")
    sim = SimulatorClient(basic_auth())
    assert sim.post("/msgs/alice", {"content": "still here"}).status_code == 204
    assert sim.get("/msgs/alice").json()[0]["content"] == "still here"
    wrong = SimulatorClient(basic_auth(password="nope"))
    assert wrong.get("/msgs/alice").status_code == HTTPStatus.FORBIDDEN


def test_staff_see_and_clear_lockouts_in_the_admin(client, alice):
    _fail(Client(), "alice")
    staff = Client(REMOTE_ADDR="198.51.100.7")
    staff.force_login(User.objects.create_superuser("moderator", "mod@example.com", "modpass"))
    attempts = staff.get(reverse("admin:axes_accessattempt_changelist"))
    assert attempts.status_code == HTTPStatus.OK
    assert "alice" in attempts.text
    from axes.models import AccessAttempt

    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    staff.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    assert _sign_in(Client(), "alice", "secret").status_code == HTTPStatus.FOUND


def test_an_unknown_name_costs_a_hash_like_a_wrong_password(client, settings):
    settings.PASSWORD_HASHERS = ["timeline.hashers.MiniTwitArgon2Hasher"]
    UserFactory(username="known", password="secret")

    def median_seconds(username):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            _sign_in(Client(REMOTE_ADDR=f"192.0.2.{len(times) + 1}"), username, "wrong")
            times.append(time.perf_counter() - start)
        return sorted(times)[2]

    unknown, known = median_seconds("unknown"), median_seconds("known")
    # Both pay for one Argon2 hash (tens of ms); without one the unknown name took a
    # fifth of the time.
    assert 0.5 < unknown / known < 2, (unknown, known)

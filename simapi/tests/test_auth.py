import base64
import logging
from http import HTTPStatus

import pytest

from minitwit_project.tests.conftest import load_settings
from sitewide import http_basic
from timeline.models import Follow, Message, User
from timeline.tests.factories import FollowFactory

from .conftest import SimulatorClient, assert_error, basic_auth

pytestmark = pytest.mark.django_db

NOT_AUTHORIZED = {"status": 403, "error_msg": "You are not authorized to use this resource!"}

# Every data endpoint, each with a request that would change or reveal something.
DATA_REQUESTS = [
    ("post", "/register", {"username": "eve", "email": "eve@x", "pwd": "p"}),
    ("get", "/msgs", None),
    ("get", "/msgs/alice", None),
    ("post", "/msgs/alice", {"content": "sneaky"}),
    ("get", "/fllws/alice", None),
    ("post", "/fllws/alice", {"follow": "bob"}),
    ("post", "/fllws/alice", {"unfollow": "carol"}),
]

BAD_AUTHORIZATIONS = {
    "missing": None,
    "wrong password": basic_auth("simulator", "super_safe"),
    "wrong username": basic_auth("Simulator", "super_safe!"),
    "both wrong": basic_auth("admin", "admin"),
    "password with extra": basic_auth("simulator", "super_safe!!"),
    "no colon": "Basic " + base64.b64encode(b"simulatorsuper_safe!").decode(),
    "not base64": "Basic %%%not-base64%%%",
    "another scheme": "Bearer c2ltdWxhdG9yOnN1cGVyX3NhZmUh",
    "scheme only": "Basic",
    "raw credentials": "Basic simulator:super_safe!",
}


@pytest.fixture
def world(alice, bob):
    carol = FollowFactory(follower=alice).followed
    carol.username = "carol"
    carol.save()
    return alice, bob


def send(client, method, path, body):
    if method == "get":
        return client.get(f"{path}?latest=999")
    return client.post(f"{path}?latest=999", body)


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS)
@pytest.mark.parametrize(("method", "path", "body"), DATA_REQUESTS)
def test_bad_credentials_get_the_protocols_403_and_change_nothing(
    world, authorization, method, path, body
):
    users, follows = set(User.objects.values_list("username", flat=True)), Follow.objects.count()
    response = send(SimulatorClient(authorization), method, path, body)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == NOT_AUTHORIZED
    assert "WWW-Authenticate" not in response
    assert set(User.objects.values_list("username", flat=True)) == users
    assert Follow.objects.count() == follows
    assert not Message.objects.exists()
    assert SimulatorClient().get("/latest").json() == {"latest": -1}


@pytest.mark.parametrize(("method", "path", "body"), DATA_REQUESTS)
def test_the_right_credentials_open_every_data_endpoint(world, sim, method, path, body):
    assert send(sim, method, path, body).status_code < 300


def test_the_scheme_name_is_case_insensitive(world):
    client = SimulatorClient(basic_auth().replace("Basic", "basic"))
    assert client.get("/msgs").status_code == HTTPStatus.OK


def test_credentials_come_from_the_settings(world, settings):
    settings.SIMULATOR_USERNAME = "sim-ops"
    settings.SIMULATOR_PASSWORD = "a long pass: with colon"
    assert (
        SimulatorClient(basic_auth("sim-ops", "a long pass: with colon")).get("/msgs").status_code
        == HTTPStatus.OK
    )
    assert SimulatorClient(basic_auth()).get("/msgs").status_code == HTTPStatus.FORBIDDEN


def test_non_ascii_credentials_work(world, settings):
    settings.SIMULATOR_PASSWORD = "pæssword"
    assert (
        SimulatorClient(basic_auth(password="pæssword")).get("/msgs").status_code == HTTPStatus.OK
    )


def test_both_halves_are_always_compared_in_constant_time(world, monkeypatch):
    compared = []

    def spy(given, expected):
        compared.append((given, expected))
        return given == expected

    monkeypatch.setattr(http_basic.hmac, "compare_digest", spy)
    SimulatorClient(basic_auth("nobody", "super_safe!")).get("/msgs")
    # A wrong username does not skip the password comparison: timing reveals nothing.
    assert compared == [(b"nobody", b"simulator"), (b"super_safe!", b"super_safe!")]


def test_the_403_is_json_even_for_the_web_register_path(db):
    response = SimulatorClient().post("/register", {"username": "eve"})
    assert_error(response, HTTPStatus.FORBIDDEN, NOT_AUTHORIZED["error_msg"])


# The allowlist --------------------------------------------------------------------------


@pytest.fixture
def allow_only_the_simulator(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SIMULATOR_ALLOWED_IPS = ["198.51.100.7", "2001:db8::/32"]


def test_an_allowed_address_behind_the_proxy_gets_in(world, sim, allow_only_the_simulator):
    response = sim.get("/msgs", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == HTTPStatus.OK


def test_an_allowed_direct_client_gets_in(world, sim, allow_only_the_simulator):
    assert sim.get("/msgs", REMOTE_ADDR="2001:db8::5").status_code == HTTPStatus.OK


def test_another_address_is_refused_with_the_protocols_403(
    world, sim, allow_only_the_simulator, caplog
):
    with caplog.at_level(logging.WARNING, logger="simapi"):
        response = sim.post(
            "/msgs/alice?latest=5",
            {"content": "x"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    assert response.json() == NOT_AUTHORIZED
    assert not Message.objects.exists()
    assert sim.get("/latest").json() == {"latest": -1}
    record = next(r for r in caplog.records if "SIMULATOR_ALLOWED_IPS" in r.getMessage())
    assert record.client_ip == "203.0.113.9"


def test_a_forged_forwarded_header_from_outside_does_not_get_in(
    world, sim, allow_only_the_simulator
):
    response = sim.get("/msgs", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_the_allowlist_does_not_replace_the_password(world, allow_only_the_simulator):
    client = SimulatorClient(basic_auth(password="wrong"))
    assert client.get("/msgs", REMOTE_ADDR="198.51.100.7").status_code == HTTPStatus.FORBIDDEN


def test_a_star_allows_every_address(world, sim, settings):
    settings.SIMULATOR_ALLOWED_IPS = ["*"]
    assert sim.get("/msgs", REMOTE_ADDR="203.0.113.9").status_code == HTTPStatus.OK


def test_by_default_every_address_is_allowed(tmp_path):
    result = load_settings({}, "settings.SIMULATOR_ALLOWED_IPS", tmp_path=tmp_path)
    assert result.stdout.strip() == "['*']", result.stderr
    empty = load_settings({"SIMULATOR_ALLOWED_IPS": ""}, "settings.SIMULATOR_ALLOWED_IPS", tmp_path)
    assert empty.stdout.strip() == "['*']", empty.stderr


def test_a_mistyped_allowlist_stops_the_start_up(tmp_path):
    env = {"SIMULATOR_ALLOWED_IPS": "198.51.100.7, 10.0.0.300"}
    result = load_settings(env, "settings.SIMULATOR_ALLOWED_IPS", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SIMULATOR_ALLOWED_IPS: '10.0.0.300' is not an address" in result.stderr


def test_the_credentials_can_come_from_docker_secret_files(tmp_path):
    secret = tmp_path / "simulator_password"
    secret.write_text("from-a-file\n")
    env = {"SIMULATOR_PASSWORD_FILE": str(secret)}
    result = load_settings(env, "settings.SIMULATOR_PASSWORD", tmp_path=tmp_path)
    assert result.stdout.strip() == "from-a-file", result.stderr

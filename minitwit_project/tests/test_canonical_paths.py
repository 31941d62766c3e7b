"""Each resource has one path: repeated slashes are served as the single-slash path, a
trailing-slash variant gets a 308 to it (which keeps the method). HEAD works wherever GET
does, and /favicon.ico is an icon, not a profile.
"""

import re
from http import HTTPStatus

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from simapi.tests.conftest import basic_auth
from timeline.models import Message, User
from timeline.tests.factories import FollowFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

PERMANENT_REDIRECT_KEEPING_METHOD = 308


# -- repeated slashes: a simulator whose base URL ends in "/" ------------------------------


def raw(path: str) -> dict:
    """Request options that send `path` as is: Django's test client would read "//register"
    as a scheme-relative URL for the host "register"."""
    path, _, query = path.partition("?")
    return {"PATH_INFO": path, "QUERY_STRING": query}


def test_a_base_url_ending_in_a_slash_still_registers_and_posts(sim):
    register = {"username": "dora", "email": "d@x", "pwd": "p"}
    assert sim.post("/", register, **raw("//register?latest=1")).status_code == 204
    assert sim.post("/", {"content": "hi"}, **raw("//msgs/dora?latest=2")).status_code == 204
    assert sim.get("/", **raw("//latest")).json() == {"latest": 2}
    assert sim.get("/", **raw("///msgs//dora")).json()[0]["content"] == "hi"
    assert Message.objects.get().author.username == "dora"


def test_repeated_slashes_in_a_page_address_serve_that_page(client):
    MessageFactory(author=UserFactory(username="dora"), text="hello")
    response = client.get("/", **raw("//dora"))
    assert response.status_code == HTTPStatus.OK
    assert response.context["profile_user"].username == "dora"
    assert client.get("/", **raw("//public")).status_code == HTTPStatus.OK


# -- trailing slashes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/public/", "/public"),
        ("/public//", "/public"),
        ("/login/", "/login"),
        ("/dora/", "/dora"),
        ("/dora/follow/", "/dora/follow"),
        ("/msgs/", "/msgs"),
        ("/msgs/dora/?no=5&latest=3", "/msgs/dora?no=5&latest=3"),
        ("/fllws/dora/", "/fllws/dora"),
        ("/api/schema", "/api/schema/"),
        ("/api/docs", "/api/docs/"),
        ("/Ærø/", "/%C3%86r%C3%B8"),
        ("/50%25%20off%3F/", "/50%25%20off%3F"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_a_trailing_slash_variant_is_a_308_to_the_real_path(client, method, path, location):
    response = client.generic(method, path)
    assert response.status_code == PERMANENT_REDIRECT_KEEPING_METHOD
    assert response["Location"] == location


def test_a_post_that_follows_the_308_arrives_with_its_body(sim):
    response = sim.post("/register/", {"username": "dora", "email": "d@x", "pwd": "p"}, follow=True)
    assert response.redirect_chain == [("/register", PERMANENT_REDIRECT_KEEPING_METHOD)]
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert User.objects.filter(username="dora").exists()


def test_a_path_that_exists_with_neither_form_is_a_plain_404(client):
    assert client.get("/msgs/a/b/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/api/nothing").status_code == HTTPStatus.NOT_FOUND


def test_a_real_404_is_not_redirected(client, sim):
    assert client.get("/nobody").status_code == HTTPStatus.NOT_FOUND
    assert sim.get("/msgs/nobody").status_code == HTTPStatus.NOT_FOUND


# -- HEAD wherever GET ---------------------------------------------------------------------


def _concrete_paths() -> list[str]:
    """Every page and endpoint of the site, with a real username for <username>."""
    paths = ["/health", "/ready", "/metrics"]

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.app_name != "admin":
                    walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                paths.append("/" + re.sub(r"<(?:\w+:)?username>", "alice", route))

    walk(get_resolver().url_patterns)
    return paths


@pytest.mark.parametrize("signed_in", [False, True])
def test_head_is_answered_wherever_get_is_with_the_same_status_and_headers(alice, bob, signed_in):
    MessageFactory(author=alice)
    FollowFactory(follower=alice, followed=bob)
    client = Client(headers={"Authorization": basic_auth()})
    if signed_in:
        client.force_login(bob)
    paths = _concrete_paths()
    assert "/add_message" in paths and "/alice/follow" in paths and "/msgs/alice" in paths
    for path in paths:
        if path.endswith(("/follow", "/unfollow", "/logout")):
            continue  # a GET there acts (see test_get_actions); its HEAD is tested there
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code, path
        assert head.status_code != HTTPStatus.METHOD_NOT_ALLOWED, path
        for header in ("Content-Type", "Location", "Allow"):
            assert head.get(header) == get.get(header), (path, header)
        assert head.content == b"", path


def test_a_refused_method_gets_a_designed_page_naming_the_allowed_ones(client):
    response = client.put("/login")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, POST, HEAD"
    assert "This page does not take a PUT request" in response.text
    assert "<html" in response.text
    assert client.post("/public").status_code == HTTPStatus.METHOD_NOT_ALLOWED


# -- /favicon.ico --------------------------------------------------------------------------


def test_favicon_is_the_static_icon_not_a_username_lookup(client):
    assert resolve("/favicon.ico").view_name == "timeline:favicon"
    response = client.get("/favicon.ico")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/static/favicon.ico"
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00", "an ICO file"
    assert client.head("/favicon.ico").status_code == HTTPStatus.FOUND


def test_pages_link_their_icons(client):
    page = client.get("/public").text
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert 'rel="icon" href="/static/favicon.ico"' in page
    assert finders.find("favicon.svg")

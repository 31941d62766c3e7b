"""Every simulator endpoint against arbitrary JSON values, text (NUL, lone surrogates,
right-to-left marks, 10,000-character strings), usernames in the path and integers in the
query: never a 5xx, every refusal a JSON 4xx that says why, and what was accepted stored
exactly."""

import json
from http import HTTPStatus
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeline import selectors
from timeline.models import Follow, Message, User
from timeline.parsing import parse_int
from timeline.tests.strategies import HOSTILE, hostile_integer, hostile_text, json_value

from .conftest import assert_error

pytestmark = pytest.mark.django_db

LATEST_RANGE = (-(2**63), 2**63 - 1)


def send(sim, method: str, path: str, body=None):
    """`body` as JSON that keeps lone surrogates as \\ud800 escapes, as a JSON client may."""
    if method == "GET":
        return sim.get(path)
    return sim.post(path, raw=json.dumps(body, ensure_ascii=True))


def path_segment(name: str) -> str:
    """`name` percent-encoded for a path or query (a lone surrogate as the bytes a careless
    client would send)."""
    return quote(name.encode("utf-8", "surrogatepass"), safe="")


def refused_or_ok(response) -> None:
    """No 5xx; a refusal from an endpoint is the protocol's JSON error. (Some names make a
    path that is no endpoint's: "a/b" in /fllws/a%2Fb, or "" in /msgs/, which redirects to
    /msgs. Those get the site's 404 page or a 308.)"""
    assert response.status_code < 500
    match = response.wsgi_request.resolver_match
    if match and "simapi" in match.app_names and response.status_code >= 400:
        assert_error(response, HTTPStatus(response.status_code))


@HOSTILE
@given(username=json_value, email=json_value, pwd=json_value, latest=hostile_integer)
def test_register_stores_exactly_or_says_why_not(sim, username, email, pwd, latest):
    users_before = User.objects.count()
    body = {"username": username, "email": email, "pwd": pwd}
    response = send(sim, "POST", f"/register?latest={path_segment(latest)}", body)
    refused_or_ok(response)
    if response.status_code == HTTPStatus.NO_CONTENT:
        user = User.objects.get(username=username)
        assert (user.email, user.check_password(pwd)) == (email, True)
        assert User.objects.count() == users_before + 1
    else:
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert User.objects.count() == users_before


@HOSTILE
@given(author=st.one_of(st.just("alice"), hostile_text), content=json_value)
def test_posting_stores_exactly_or_says_why_not(sim, alice, author, content):
    messages_before = Message.objects.count()
    response = send(sim, "POST", f"/msgs/{path_segment(author)}", {"content": content})
    refused_or_ok(response)
    if response.status_code == HTTPStatus.NO_CONTENT:
        message = Message.objects.order_by("-id").first()
        assert (message.author.username, message.text) == (author, content)
    else:
        assert Message.objects.count() == messages_before


@HOSTILE
@given(
    name=st.one_of(st.just("alice"), hostile_text),
    key=st.sampled_from(["follow", "unfollow", "both", "neither"]),
    target=st.one_of(st.just("bob"), json_value),
)
def test_follow_and_unfollow_change_exactly_what_was_asked_or_say_why_not(
    sim, alice, bob, name, key, target
):
    body = {"follow": target, "unfollow": target} if key == "both" else {}
    if key in ("follow", "unfollow"):
        body = {key: target}
    follows_before = set(Follow.objects.values_list("follower_id", "followed_id"))
    response = send(sim, "POST", f"/fllws/{path_segment(name)}", body)
    refused_or_ok(response)
    follows_after = set(Follow.objects.values_list("follower_id", "followed_id"))
    if response.status_code == HTTPStatus.NO_CONTENT:
        pair = (selectors.user_get(username=name).pk, selectors.user_get(username=target).pk)
        assert (pair in follows_after) == (key == "follow")
        assert follows_after ^ follows_before <= {pair}
    else:
        assert follows_after == follows_before


@HOSTILE
@given(
    path=st.sampled_from(["/msgs", "/msgs/alice", "/fllws/alice", "/latest", "/msgs/", "/x"]),
    name=hostile_text,
    no=hostile_integer,
    latest=hostile_integer,
)
def test_reads_with_any_name_no_and_latest_never_break_and_latest_follows_the_reference(
    sim, alice, path, name, no, latest
):
    sim.get("/msgs?latest=5")
    if path == "/x":
        path = f"/msgs/{path_segment(name)}"
    response = sim.get(f"{path}?no={path_segment(no)}&latest={path_segment(latest)}")
    refused_or_ok(response)
    # Recorded only by a request that reaches an operation: not by GET /latest, not by a
    # path that is no endpoint's (a 404 page, the 308 of /msgs/).
    match = response.wsgi_request.resolver_match
    reached = bool(match) and "simapi" in match.app_names and path != "/latest"
    recorded = parse_int(latest, minimum=LATEST_RANGE[0], maximum=LATEST_RANGE[1])
    expected = recorded if reached and recorded not in (None, -1) else 5
    assert sim.get("/latest").json() == {"latest": expected}
    if response.status_code == HTTPStatus.OK and path != "/latest":
        wanted = parse_int(no, minimum=0)
        assert no == "" or wanted is not None, "a no that is not a whole number is a 400"

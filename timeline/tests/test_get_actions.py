"""The classic MiniTwit signs out, follows and unfollows with plain links (GET /logout,
GET /<user>/follow, GET /<user>/unfollow), and the course's tests use them. They act when
the request comes from this site or from a client that is not a browser. A link on another
site arrives with the SameSite=Lax session cookie, so such a GET only shows a page that
offers the action as a button, and changes nothing."""

from http import HTTPStatus

import pytest
from django.test import Client

from timeline.models import Follow

from .factories import UserFactory

pytestmark = pytest.mark.django_db

ACTING = {
    "not-a-browser": {},
    "this-site": {"Sec-Fetch-Site": "same-origin"},
    "typed-address": {"Sec-Fetch-Site": "none"},
}
FROM_ANOTHER_SITE = {
    "cross-site-link": {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
    "sibling-subdomain": {"Sec-Fetch-Site": "same-site"},
    "foreign-origin": {"Origin": "https://evil.example"},
    "null-origin": {"Origin": "null"},
}
PREFETCH = {"Sec-Fetch-Site": "same-origin", "Sec-Purpose": "prefetch"}


def signed_in(alice, headers) -> Client:
    client = Client(enforce_csrf_checks=True, headers=headers)
    client.force_login(alice)
    return client


@pytest.mark.parametrize("headers", ACTING.values(), ids=ACTING)
def test_get_follow_and_unfollow_act_and_flash_the_classic_texts(alice, bob, headers):
    client = signed_in(alice, headers)
    response = client.get("/bob/follow", follow=True)
    assert response.redirect_chain == [("/bob", HTTPStatus.FOUND)]
    # Byte for byte as the classic Jinja2 templates escape it (Django writes &quot;).
    assert "You are now following &#34;bob&#34;" in response.text
    assert Follow.objects.filter(follower=alice, followed=bob).exists()
    response = client.get("/bob/unfollow", follow=True)
    assert "You are no longer following &#34;bob&#34;" in response.text
    assert not Follow.objects.exists()


@pytest.mark.parametrize("headers", ACTING.values(), ids=ACTING)
def test_get_logout_signs_out(alice, headers):
    client = signed_in(alice, headers)
    response = client.get("/logout", follow=True)
    assert "You were logged out" in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("headers", FROM_ANOTHER_SITE.values(), ids=FROM_ANOTHER_SITE)
@pytest.mark.parametrize(
    ("path", "button"), [("/bob/follow", "Follow user"), ("/bob/unfollow", "Unfollow user")]
)
def test_a_follow_link_from_another_site_offers_a_button_and_changes_nothing(
    alice, bob, headers, path, button
):
    client = signed_in(alice, headers)
    response = client.get(path)
    assert response.status_code == HTTPStatus.OK
    assert "This link came from another site, so nothing has changed yet." in response.text
    assert f'<form action="{path}" method="post">' in response.text
    assert f'value="{button}"' in response.text
    assert not Follow.objects.exists()


@pytest.mark.parametrize("headers", FROM_ANOTHER_SITE.values(), ids=FROM_ANOTHER_SITE)
def test_a_logout_link_from_another_site_offers_a_button_and_keeps_me_signed_in(alice, headers):
    client = signed_in(alice, headers)
    response = client.get("/logout")
    assert response.status_code == HTTPStatus.OK
    assert '<form action="/logout" method="post">' in response.text
    assert 'value="Sign Out"' in response.text
    assert "_auth_user_id" in client.session


def test_the_offered_button_works_from_this_site(alice, bob):
    page = signed_in(alice, FROM_ANOTHER_SITE["cross-site-link"]).get("/bob/follow")
    assert page.status_code == HTTPStatus.OK
    response = signed_in(alice, ACTING["this-site"]).post("/bob/follow", follow=True)
    assert "You are now following &#34;bob&#34;" in response.text
    assert Follow.objects.filter(follower=alice, followed=bob).exists()


def test_neither_a_prefetch_nor_a_head_acts(alice, bob):
    client = signed_in(alice, PREFETCH)
    assert client.get("/bob/follow").status_code == HTTPStatus.OK
    assert client.get("/logout").status_code == HTTPStatus.OK
    head = signed_in(alice, {})
    assert head.head("/bob/follow").status_code == HTTPStatus.OK
    assert head.head("/logout").status_code == HTTPStatus.OK
    assert not Follow.objects.exists()
    assert "_auth_user_id" in head.session


def test_visitors_following_by_link_are_asked_to_sign_in(client, bob):
    response = client.get("/bob/follow")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/login")
    assert not Follow.objects.exists()


def test_a_flash_with_quotes_in_a_name_is_escaped_as_the_classic_pages_do(alice):
    UserFactory(username='O\'Brien "Bob" <b>&')
    response = signed_in(alice, {}).get("/O'Brien%20%22Bob%22%20%3Cb%3E&/follow", follow=True)
    assert (
        "You are now following &#34;O&#39;Brien &#34;Bob&#34; &lt;b&gt;&amp;&#34;" in response.text
    )

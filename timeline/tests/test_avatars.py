"""Every author has a picture drawn by this site: no third party sees who reads what."""

import re
from http import HTTPStatus

import pytest

from timeline.avatars import username_digest

from .factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

AVATAR_SRC = re.compile(r'<img src="(/avatars/v1/[0-9a-f]{32}\.svg)"')


def test_timelines_show_local_avatars_and_no_email_hash(client):
    author = UserFactory(username="dora", email="Dora@Example.com")
    MessageFactory(author=author)
    page = client.get("/public").text
    assert AVATAR_SRC.findall(page) == [f"/avatars/v1/{username_digest('dora')}.svg"]
    assert "gravatar" not in page
    # md5 of the address, which Gravatar URLs carry, appears nowhere.
    assert "397634828f9a0d2608cf516642222ad7" not in page


def test_different_users_get_different_pictures(client):
    first = client.get(f"/avatars/v1/{username_digest('alice')}.svg")
    second = client.get(f"/avatars/v1/{username_digest('bob')}.svg")
    assert first.status_code == second.status_code == HTTPStatus.OK
    assert first["Content-Type"] == "image/svg+xml"
    assert first.content.startswith(b"<svg") and first.content != second.content


def test_an_avatar_is_cached_for_a_year_and_revalidates_by_etag(client):
    url = f"/avatars/v1/{username_digest('alice')}.svg"
    response = client.get(url)
    assert "max-age=31536000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert again.content == b""


@pytest.mark.parametrize(
    "path",
    ["/avatars/v1/xyz.svg", "/avatars/v1/" + "A" * 32 + ".svg", "/avatars/v2/" + "0" * 32 + ".svg"],
)
def test_an_avatar_url_that_we_never_make_is_not_found(client, path):
    assert client.get(path).status_code == HTTPStatus.NOT_FOUND


def test_gravatar_mode_shows_gravatar_with_its_identicon_fallback(client, settings):
    settings.AVATARS = "gravatar"
    MessageFactory(author=UserFactory(username="dora", email="Dora@Example.com "))
    page = client.get("/public").text
    # md5("dora@example.com"): the address is trimmed and lower-cased first.
    assert (
        "https://www.gravatar.com/avatar/397634828f9a0d2608cf516642222ad7?d=identicon&amp;s=48"
        in page
    )

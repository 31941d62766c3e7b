import html
import re
from http import HTTPStatus
from urllib.parse import quote

import pytest

from timeline.models import Follow

from .factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

NAMES = ["Roger Histand", "Ærø", "O'Brien", "名前", "50% off?", "a#b"]


@pytest.mark.parametrize("name", NAMES)
def test_profile_urls_work_for_any_allowed_name(client, name):
    MessageFactory(author=UserFactory(username=name), text="hello")
    url = "/" + quote(name)
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert "hello" in response.text
    # The author link on the public timeline leads to the same page.
    link = re.search(r'<strong><a href="([^"]+)">', client.get("/public").text).group(1)
    followed = client.get(html.unescape(link))
    assert followed.status_code == HTTPStatus.OK
    assert followed.context["profile_user"].username == name


@pytest.mark.parametrize("name", NAMES)
def test_following_works_for_any_allowed_name(client, alice, name):
    other = UserFactory(username=name)
    client.force_login(alice)
    response = client.post("/" + quote(name) + "/follow")
    assert response.status_code == HTTPStatus.FOUND
    assert Follow.objects.filter(follower=alice, followed=other).exists()


def test_usernames_are_case_sensitive(client):
    UserFactory(username="Dora")
    assert client.get("/dora").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/Dora").status_code == HTTPStatus.OK


def test_a_name_with_spaces_registers_and_signs_in(client):
    client.post(
        "/register",
        {
            "username": "Roger Histand",
            "email": "r@x.dk",
            "password": "]=)[X{Km{z",
            "password2": "]=)[X{Km{z",
        },
    )
    response = client.post(
        "/login", {"username": "Roger Histand", "password": "]=)[X{Km{z"}, follow=True
    )
    assert "You were logged in" in response.text

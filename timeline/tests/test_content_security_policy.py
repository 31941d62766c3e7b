"""Every page carries a Content-Security-Policy that allows scripts and styles only from
this site, and the pages need nothing more: no inline script, style or event handler.
(test_browser.py checks in Chromium that no rule is broken.)"""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from timeline.models import Follow, User

from .factories import MessageFactory

pytestmark = pytest.mark.django_db

INLINE = re.compile(r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def pages(client, alice, bob):
    MessageFactory(author=bob, text="<script>alert(1)</script>")
    Follow.objects.create(follower=alice, followed=bob)
    visitor = {path: client.get(path) for path in ["/public", "/login", "/register", "/bob"]}
    client.force_login(alice)
    member = {f"{path} (signed in)": client.get(path) for path in ["/", "/bob", "/add_message"]}
    client.force_login(User.objects.create_superuser("moderator", "m@example.com", "pw"))
    admin = {
        name: client.get(reverse(name))
        for name in ["admin:index", "admin:timeline_message_changelist", "admin:timeline_user_add"]
    }
    return {**visitor, **member, **admin}


def test_every_page_allows_scripts_and_styles_from_this_site_only(pages):
    for path, response in pages.items():
        assert response.status_code == HTTPStatus.OK, path
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"], path
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path


def test_the_pages_need_no_inline_script_or_style(pages):
    for path, response in pages.items():
        assert INLINE.findall(response.text) == [], path


def test_only_the_api_docs_page_allows_inline_styles(client):
    policy = _policy(client.get("/api/docs/"))
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]
    assert "'unsafe-inline'" not in _policy(client.get("/public"))["style-src"]

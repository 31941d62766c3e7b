"""The timelines' hand-made links and dates must read exactly as Django's own tags would."""

import datetime as dt
import zoneinfo

import pytest
from django.template.defaultfilters import date as django_date
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from timeline.templatetags.minitwit import iso_datetime, profile_url, short_datetime

NAMES = [
    "alice",
    "Bob Smith",
    "ünïcødé 名前",
    "a?b#c",
    "100%",
    "x&y=z;w",
    "tilde~colon:at@",
    "plus+comma,paren()",
    "quote\"'<tag>",
    "..",
    "back\\slash",
    "tab\tname",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_profile_link_is_the_one_reverse_builds(name):
    assert profile_url(name) == reverse("timeline:user", args=[name])


@pytest.mark.parametrize("name", ["", "a/b", "/", "lone\ud800surrogate"])
def test_a_name_the_profile_url_cannot_hold_gets_no_link(name):
    try:
        reverse("timeline:user", args=[name])
    except (NoReverseMatch, UnicodeEncodeError):
        pass
    else:
        pytest.fail(f"reverse() accepts {name!r}; profile_url should too")
    assert profile_url(name) is None


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 12, 7, 2, 51, 52, 123456, tzinfo=dt.UTC),
        dt.datetime(2009, 1, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(1999, 7, 4, 23, 59, 59, tzinfo=zoneinfo.ZoneInfo("Europe/Copenhagen")),
    ],
)
def test_message_times_read_as_the_date_filter_writes_them(moment):
    local = timezone.localtime(moment)
    assert iso_datetime(local) == django_date(local, "c")
    assert short_datetime(local) == django_date(local, "Y-m-d @ H:i")


@pytest.mark.django_db
def test_an_author_whose_name_has_no_profile_url_is_shown_without_a_link(client):
    from timeline.models import Message, User

    # A legacy row: the original MiniTwit let a "/" into a name; the pattern cannot hold it.
    author = User.objects.create(username="slash/name", email="s@example.org")
    Message.objects.create(author=author, text="still readable")
    page = client.get("/public").text
    assert "still readable" in page and "slash/name" in page
    assert 'href="/slash/name"' not in page

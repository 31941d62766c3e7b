"""Links in messages can be clicked; everything else in a message stays plain, escaped text."""

import datetime as dt

import pytest
from django.utils import timezone

from timeline.templatetags.minitwit import link_urls

from .factories import MessageFactory

pytestmark = pytest.mark.django_db

REL = 'rel="nofollow ugc noopener"'


def test_an_http_url_in_a_message_is_a_link_on_the_timeline(client):
    MessageFactory(text="read https://example.org/a?b=1&c=2. Then <b>this</b>")
    page = client.get("/public").text
    assert (
        f'read <a href="https://example.org/a?b=1&amp;c=2" {REL}>https://example.org/a?b=1&amp;c=2'
        "</a>. Then &lt;b&gt;this&lt;/b&gt;" in page
    )


def test_a_script_around_a_url_stays_text(client):
    MessageFactory(text='<script>alert("x")</script>http://x.test/"><script>y</script>')
    page = client.get("/public").text
    assert "<script>" not in page
    assert f'<a href="http://x.test/" {REL}>http://x.test/</a>' in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "mailto:someone@example.org",
        "data:text/html,<b>x</b>",
        "www.example.org",
        "example.org",
        "ftp://example.org/file",
        "http://",
    ],
)
def test_no_other_scheme_or_bare_domain_becomes_a_link(text):
    assert "<a " not in link_urls(text)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        (
            "(see https://en.wikipedia.org/wiki/Foo_(bar))",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
        ("at https://example.org/x, and", "https://example.org/x"),
        ("HTTPS://EXAMPLE.ORG!", "HTTPS://EXAMPLE.ORG"),
    ],
)
def test_punctuation_after_a_url_stays_outside_the_link(text, url):
    assert f'<a href="{url}" {REL}>{url}</a>' in link_urls(text)


def test_a_message_without_urls_is_escaped_once():
    assert link_urls("a & b <i> \"q\" 'r'") == "a &amp; b &lt;i&gt; &quot;q&quot; &#x27;r&#x27;"


def test_times_are_relative_with_the_absolute_utc_time_as_their_title(client):
    MessageFactory(pub_date=timezone.now() - dt.timedelta(minutes=3))
    MessageFactory(pub_date=dt.datetime(2024, 3, 5, 14, 7, tzinfo=dt.UTC))
    page = client.get("/public").text
    assert ">3\xa0minutes ago</time>" in page
    assert '<time datetime="2024-03-05T14:07:00+00:00" title="2024-03-05 @ 14:07 UTC">' in page

"""Markup that assistive technology relies on, checked without a browser (the axe-core run in
test_pages_browser.py covers the rest)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_the_heading_nav_and_flashes_sit_in_landmarks(alice_client):
    page = alice_client.post("/add_message", {"text": "hello"}, follow=True).text
    header = page[page.index("<header>") : page.index("</header>")]
    assert "<h1>" in header and '<nav class="navigation" aria-label="Site">' in header
    main = page[page.index("<main") : page.index("</main>")]
    assert "Your message was recorded" in main


def test_the_pagination_nav_has_its_own_name(alice_client, alice):
    MessageFactory.create_batch(31, author=alice)
    assert '<nav class="pagination" aria-label="Pages">' in alice_client.get("/public").text


def test_the_post_box_has_a_visible_label(alice_client):
    page = alice_client.get("/").text
    assert '<label for="message-text">What\'s on your mind alice?</label>' in page
    assert '<input type="text" id="message-text" name="text"' in page


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_a_form_error_is_announced_and_tied_to_the_fields(client, path):
    page = client.post(path, {"username": ""}).text
    assert '<div class="error" id="form-error" role="alert"><strong>Error:</strong>' in page
    fields = re.findall(r"<input type=\"(?:text|password)\"[^>]*>", page)
    assert fields and all('aria-describedby="form-error"' in field for field in fields)


def test_font_sizes_follow_the_readers_browser_setting():
    css = (Path(settings.BASE_DIR) / "static/css/style.css").read_text()
    assert not re.findall(r"font-size:\s*[\d.]+px", css)

"""The API's docs page works on a server without internet access: Swagger UI comes from
our own static files (drf-spectacular-sidecar), not a CDN."""

import html
import re
import subprocess
from http import HTTPStatus

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


@pytest.fixture
def page(db):
    response = Client().get("/api/docs/")
    assert response.status_code == HTTPStatus.OK
    return response.text


def test_the_docs_page_loads_its_assets_from_this_site(page):
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    for url in assets:
        if url.startswith("/api/docs/?"):
            continue  # the start-up script, from this view (test below)
        assert url.startswith("/static/"), f"{url} is not served by this site"
        assert finders.find(url.removeprefix("/static/")), f"{url} is not in the static files"
    assert "cdn." not in page and "https://" not in page


def test_the_docs_page_reads_this_sites_schema(page):
    # The start-up script is a file of its own (the Content-Security-Policy allows no
    # inline script), served by the same view.
    [script_url] = re.findall(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page)
    script = Client().get(html.unescape(script_url))
    assert script.status_code == HTTPStatus.OK
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in script.text


def test_the_docs_page_has_no_inline_script(page):
    assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []


def test_the_schema_needs_no_credentials(db):
    assert Client().get("/api/schema/").status_code == HTTPStatus.OK


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_shows_every_endpoint_in_a_real_browser(chromium, live_server, tmp_path):
    # The same browser as timeline/tests/test_browser.py (the root conftest.py's `chromium`),
    # so both run or skip together; here without Playwright, as a plain headless process.
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{live_server.url}/api/docs/",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = result.stdout
    for path in ["/latest", "/register", "/msgs", "/msgs/{username}", "/fllws/{username}"]:
        assert f'data-path="{path}"' in dom, result.stderr[-2000:]
    assert "MiniTwit simulator API" in dom

"""While the database is unavailable the pages answer 503 with a "we'll be right back"
page, and ask the browser to retry (minitwit_project/errors.py)."""

import logging
from http import HTTPStatus

import pytest
from django.test import Client
from psycopg import errors as pg


@pytest.fixture
def browser():
    # As a server would: an unhandled exception becomes handler500's answer.
    return Client(raise_request_exception=False)


def assert_right_back_page(response):
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert b"We'll be right back" in response.content


@pytest.mark.parametrize("path", ["/public", "/alice", "/public?page=2"])
def test_pages_say_we_will_be_right_back_while_the_database_is_down(
    browser, alice, database_outage, path
):
    assert_right_back_page(browser.get(path))


@pytest.fixture
def signed_in_browser(browser, alice):
    browser.force_login(alice)
    return browser


def test_a_signed_in_visitor_gets_the_page_without_a_session_lookup(
    signed_in_browser, database_outage
):
    response = signed_in_browser.get("/")
    assert_right_back_page(response)
    # The layout could not know the user: it shows the signed-out navigation.
    assert b"sign in" in response.content


def test_a_statement_timeout_is_an_outage_too(browser, alice, database_outage):
    database_outage(pg.QueryCanceled("canceling statement due to statement timeout"))
    assert_right_back_page(browser.get("/public"))


def test_an_outage_is_logged_as_a_warning_with_its_cause_not_an_error(
    browser, alice, database_outage, caplog
):
    with caplog.at_level(logging.INFO):
        browser.get("/public")
    outage = [r for r in caplog.records if r.name == "minitwit.outage"]
    assert [r.levelno for r in outage] == [logging.WARNING]
    assert "Connection refused" in outage[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]


def test_a_bug_is_still_a_500(browser, alice, monkeypatch):
    from timeline import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "public_timeline", broken)
    response = browser.get("/public")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Retry-After" not in response

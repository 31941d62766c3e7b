"""pytest plugin that lets the course's Selenium UI test (test_itu_minitwit_ui.py) run
unmodified here, loaded with `pytest -p course_shim` (.ci/course_tests.sh). It changes what
the test runs on, never what it does or checks:

- the browser: the test starts Firefox through ./geckodriver, which a machine without
  internet cannot download; `webdriver.Firefox` becomes Debian's Chromium through
  /usr/bin/chromedriver, headless, as the test asks of Firefox;
- the database: the test looks users up and deletes them in the MongoDB of the course's
  Flask/Mongo MiniTwit through pymongo; a stand-in `pymongo` module answers the same two
  calls (`db.test.user.find_one` and `delete_one` by username) from MiniTwit's own
  database, the one the server under test uses (DATABASE_URL), through timeline's selector.
"""

import os
import sys
import types

import django
from selenium import webdriver
from selenium.webdriver.chrome.options import Options as ChromeOptions
from selenium.webdriver.chrome.service import Service as ChromeService

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver")


def chromium(*args, **kwargs) -> webdriver.Chrome:
    """Stands in for webdriver.Firefox(service=..., options=...), whatever it was given."""
    options = ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=options)


class _Users:
    """The `user` collection: MiniTwit's users, by username."""

    def find_one(self, query: dict):
        from timeline import selectors

        user = selectors.user_get(username=query["username"])
        return None if user is None else {"username": user.username, "email": user.email}

    def delete_one(self, query: dict):
        from timeline import selectors

        user = selectors.user_get(username=query["username"])
        if user is not None:
            user.delete()


class MongoClient:
    """pymongo.MongoClient(url, ...) with only what the course's test uses: client.test.user."""

    def __init__(self, *args, **kwargs):
        self.test = types.SimpleNamespace(user=_Users())


def pytest_configure(config):
    sys.path.insert(0, os.environ["MINITWIT_ROOT"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")
    django.setup()
    webdriver.Firefox = chromium
    sys.modules["pymongo"] = types.SimpleNamespace(MongoClient=MongoClient)

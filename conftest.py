"""Project-wide pytest setup: settings every test gets, and the fixtures several apps share.

Helpers that only one app's tests use live in that app's `tests/conftest.py`; no test module
imports another (minitwit_project/tests/test_test_modules.py checks it).
"""

import os
import shutil

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 at production parameters costs ~28 ms a hash (README, "Passwords"); the tests
    # hash hundreds of passwords. Tests that are about hashing itself override this back.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    # On SQLite, tests get a database file rather than Django's shared-cache in-memory one:
    # the shared cache answers a second concurrent writer with "database table is locked"
    # at once, so tests with threads (simapi/tests/test_concurrency.py) could not show how
    # the real database (a WAL file with a busy timeout) behaves.
    from django.conf import settings

    database = settings.DATABASES["default"]
    # ENGINE may be django-prometheus' wrapper of the SQLite backend.
    if database["ENGINE"].endswith(".sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        )
    elif "options" in database.get("OPTIONS", {}):
        # Creating, flushing and dropping test databases are operator tasks (DROP DATABASE
        # waits for a checkpoint, on a busy machine longer than 500 ms): run them without the
        # web request's limits, as manage.py runs commands. Tests about the limits set them.
        database["OPTIONS"]["options"] = "-c statement_timeout=0 -c lock_timeout=0"
        settings.DB_STATEMENT_TIMEOUT = settings.DB_LOCK_TIMEOUT = 0


@pytest.fixture
def database_outage(db):
    """Make every query fail as it does while PostgreSQL is down (connection refused).

    Yields a function that switches the failure to another one, e.g.
    `database_outage(psycopg.errors.QueryCanceled("canceling statement due to statement
    timeout"))`; the driver error becomes the cause of Django's OperationalError, as it
    does for real.
    """
    import psycopg
    from django.db import OperationalError, connection

    failure = [psycopg.OperationalError("connection failed: Connection refused")]

    def fail(execute, sql, params, many, context):
        raise OperationalError(str(failure[0])) from failure[0]

    def switch(error: Exception) -> None:
        failure[0] = error

    with connection.execute_wrapper(fail):
        yield switch


@pytest.fixture(autouse=True)
def read_cache(settings):
    """Every test runs with the read cache on (timeline/read_cache.py), in this process's
    memory and empty at the start: a write path that forgets to retire it shows up as a
    stale page or list in whichever test reads after writing. Yields the cache."""
    from django.core.cache import caches

    settings.CACHES = {
        **settings.CACHES,
        "reads": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "minitwit-tests-reads",
        },
    }
    cache = caches["reads"]
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture
def alice(db):
    from timeline.tests.factories import UserFactory

    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    from timeline.tests.factories import UserFactory

    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def gone(db):
    """A deactivated user (is_active=False) named "gone": the admin's way to ban someone."""
    from timeline.tests.factories import UserFactory

    return UserFactory(username="gone", email="gone@example.com", is_active=False)


@pytest.fixture
def sim():
    """A client of the simulator API with the right credentials (simapi/tests/conftest.py)."""
    from simapi.tests.conftest import SimulatorClient, basic_auth

    return SimulatorClient(basic_auth())


@pytest.fixture
def anonymous():
    """A client of the simulator API that sends no Authorization header."""
    from simapi.tests.conftest import SimulatorClient

    return SimulatorClient()


@pytest.fixture
def hashing(monkeypatch):
    """Every password hash or check, counted: each goes through get_hasher or
    identify_hasher in django.contrib.auth.hashers. Yields the list of their arguments."""
    from django.contrib.auth import hashers

    calls = []
    for name in ("get_hasher", "identify_hasher"):
        real = getattr(hashers, name)

        def spy(*args, _real=real, **kwargs):
            calls.append(args)
            return _real(*args, **kwargs)

        monkeypatch.setattr(hashers, name, spy)
    return calls


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium the browser tests drive (CHROMIUM_PATH, else Debian's).

    Skips the test when there is none, unless REQUIRE_BROWSER=1 (CI sets it), where a
    missing browser fails instead of silently skipping.
    """
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not shutil.which(path):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"no Chromium at {path} and REQUIRE_BROWSER=1")
        pytest.skip(f"no Chromium at {path}")
    return path

"""Fixtures and helpers of the web UI's tests: clients, management commands, legacy
databases and a real browser. The users (alice, bob, gone) are in the root conftest.py."""

import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command

# The course's own files (scenario, legacy database), next to the repository when present.
SHARED = Path(settings.BASE_DIR).parent / "shared"

MEGABYTE_PASSWORD = "x" * 1_000_000


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory):
    """A migrated SQLite database file, made once per test run (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("shell_db") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env=_shell_env(path),
        check=True,
    )
    return path


@pytest.fixture
def manage_py(_migrated_sqlite_file, tmp_path):
    """Run `manage.py <args>` in a real process on a fresh SQLite copy, as an operator's
    script would, returning the CompletedProcess (exit status, stdout, stderr)."""
    path = tmp_path / "db.sqlite3"
    shutil.copy(_migrated_sqlite_file, path)

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *[str(a) for a in args]],
            cwd=settings.BASE_DIR,
            env=_shell_env(path),
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def _shell_env(database: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{database}",
        "MINITWIT_DATA_DIR": str(database.parent),
    }


def run_command(name: str, *args: object) -> tuple[str, str]:
    """Run `manage.py NAME ARGS` in this process (arguments as strings, as a shell passes
    them); returns (stdout, stderr) as text. A CommandError propagates for pytest.raises."""
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *[str(arg) for arg in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# Legacy databases: the original MiniTwit's SQLite schema, for manage.py import_legacy -------

LEGACY_SCHEMA = """
CREATE TABLE user (user_id integer primary key autoincrement, username string not null,
                   email string not null, pw_hash string not null);
CREATE TABLE follower (who_id integer, whom_id integer);
CREATE TABLE message (message_id integer primary key autoincrement, author_id integer not null,
                      text string not null, pub_date integer, flagged integer);
"""
# 2020-02-06 11:43:48 UTC, the legacy database's first message.
T0 = 1580989428


def werkzeug_hash(password: str, salt: str = "nwutEEFo", iterations: int = 1000) -> str:
    """What Werkzeug's generate_password_hash stores (few iterations, to keep tests fast)."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2:sha256:{iterations}${salt}${digest}"


def build_legacy_db(
    path: Path, *, users=(), messages=(), follows=(), schema: str = LEGACY_SCHEMA
) -> Path:
    """Write a legacy MiniTwit SQLite file at PATH with these rows: users as (id, username,
    email, pw_hash), messages as (id, author_id, text, pub_date in Unix seconds, flagged),
    follows as (who_id, whom_id). Returns PATH."""
    db = sqlite3.connect(path)
    db.executescript(schema)
    db.executemany('INSERT INTO "user" VALUES (?, ?, ?, ?)', users)
    db.executemany("INSERT INTO message VALUES (?, ?, ?, ?, ?)", messages)
    db.executemany("INSERT INTO follower VALUES (?, ?)", follows)
    db.commit()
    db.close()
    return path


LEGACY_USERS = [
    (1, "Roger Histand", "roger@example.com", werkzeug_hash("]=)[X{Km{z")),
    (2, "Geoffrey Stieff", "geoffrey@example.com", werkzeug_hash("-']S!{'", salt="iJPsgQQg")),
    (5, "Wendell Ballan", "wendell@example.com", werkzeug_hash("6cl_[\\", salt="4MyUJhyn")),
]


# A real browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium):
    """A headless Chromium driven by Playwright, one per test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in these tests
    # are ordinary blocking calls made between page actions, which is safe.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            yield browser
            browser.close()


def only_this_site(context, live_server) -> list[str]:
    """Make CONTEXT refuse every request to another host, as a firewalled server, an offline
    laptop or an ad-blocker would; returns the list the refused URLs are appended to."""
    site = urlsplit(live_server.url).netloc
    refused = []

    def handle(route):
        if urlsplit(route.request.url).netloc == site:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", handle)
    return refused


def go(page, target):
    """Click something that loads a new page, and wait for that page: reading the old
    page's flashes in between would make the test pass or fail by timing."""
    with page.expect_navigation():
        if isinstance(target, str):
            page.click(target)
        else:
            target.click()


def sign_in(page, username, password="secret"):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    go(page, "input[type=submit]")

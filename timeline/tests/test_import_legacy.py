"""manage.py import_legacy: an original MiniTwit database moved into ours."""

import datetime as dt
import io
import sqlite3
from http import HTTPStatus

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from timeline.models import Follow, Message, User

from .conftest import (
    LEGACY_SCHEMA,
    LEGACY_USERS,
    SHARED,
    T0,
    build_legacy_db,
    run_command,
    werkzeug_hash,
)
from .factories import UserFactory

pytestmark = pytest.mark.django_db

MESSAGES = [
    (10, 1, "From hour to hour yesterday I saw my white face of it?", T0, 0),
    (11, 2, "A flagged one", T0 + 1, 1),
    (14, 5, "Wendell’s ünïcode message", T0 + 2, 0),
]
FOLLOWS = [(1, 2), (2, 1), (5, 1)]


@pytest.fixture
def legacy_db(tmp_path):
    return build_legacy_db(
        tmp_path / "legacy.db", users=LEGACY_USERS, messages=MESSAGES, follows=FOLLOWS
    )


def run(*args) -> tuple[str, str]:
    return run_command("import_legacy", *args)


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Message.objects.count(), Follow.objects.count()


def test_users_messages_and_follows_are_imported_with_their_ids(legacy_db):
    out, _ = run(legacy_db)
    assert "users              3             3             0         0" in out
    assert "messages           3             3             0         0" in out
    assert "follows            3             3             0         0" in out

    roger = User.objects.get(pk=1)
    assert roger.username == "Roger Histand" and roger.email == "roger@example.com"
    assert roger.password == "werkzeug$" + LEGACY_USERS[0][3]
    assert roger.is_active and not roger.is_staff

    first = Message.objects.get(pk=10)
    assert first.author_id == 1
    assert first.pub_date == dt.datetime(2020, 2, 6, 11, 43, 48, tzinfo=dt.UTC)
    assert Message.objects.get(pk=11).flagged is True
    assert Message.objects.get(pk=14).text == "Wendell’s ünïcode message"
    assert set(Follow.objects.values_list("follower_id", "followed_id")) == set(FOLLOWS)


def test_flagged_legacy_messages_stay_hidden(legacy_db, client):
    run(legacy_db)
    page = client.get("/public").text
    assert "From hour to hour" in page and "A flagged one" not in page


def test_a_legacy_password_signs_in_on_the_login_page_and_is_then_upgraded(
    legacy_db, client, settings
):
    settings.PASSWORD_HASHERS = [  # the production hashers, not the tests' fast one
        "timeline.hashers.MiniTwitArgon2Hasher",
        "timeline.hashers.WerkzeugPBKDF2Hasher",
    ]
    run(legacy_db)
    response = client.post("/login", {"username": "Roger Histand", "password": "]=)[X{Km{z"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    roger = User.objects.get(username="Roger Histand")
    assert roger.password.startswith("argon2$")
    assert roger.check_password("]=)[X{Km{z")

    client.post("/logout")
    again = client.post("/login", {"username": "Roger Histand", "password": "]=)[X{Km{z"})
    assert again.status_code == HTTPStatus.FOUND


def test_a_wrong_password_for_a_legacy_user_is_refused_and_keeps_the_hash(legacy_db, client):
    run(legacy_db)
    response = client.post("/login", {"username": "Roger Histand", "password": "guess"})
    assert "Invalid password" in response.text
    assert User.objects.get(pk=1).password.startswith("werkzeug$")


def test_running_again_adds_nothing_and_says_so(legacy_db):
    run(legacy_db)
    before = counts()
    out, err = run(legacy_db)
    assert counts() == before
    assert "Nothing new to import: 9 rows were already here." in out
    assert "users              3             0             3         0" in out
    assert err.count("Skipped") == 0


def test_a_dry_run_writes_nothing_and_reports_what_it_would_do(legacy_db):
    out, _ = run(legacy_db, "--dry-run")
    assert counts() == (0, 0, 0)
    assert "nothing was written" in out
    assert "messages           3             3             0         0" in out


def test_a_missing_file_is_a_clear_error_and_is_not_created(tmp_path):
    missing = tmp_path / "nope.db"
    with pytest.raises(CommandError, match=f"No such file: {missing}") as failure:
        run(missing)
    assert failure.value.returncode == 1
    assert not missing.exists()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some notes, long enough to not look like an empty database\n" * 20)
    with pytest.raises(CommandError, match="is not an original MiniTwit database"):
        run(text)


def test_a_database_with_the_wrong_schema_is_refused_naming_what_is_missing(tmp_path):
    db = sqlite3.connect(tmp_path / "other.db")
    db.executescript(
        'CREATE TABLE "user" (user_id integer, username text, email text);'
        "CREATE TABLE follower (who_id integer, whom_id integer);"
        "CREATE TABLE message (message_id integer, author_id integer, text text);"
    )
    db.close()
    with pytest.raises(CommandError, match='table "user" failed: no such column: pw_hash'):
        run(tmp_path / "other.db")
    assert counts() == (0, 0, 0)


def test_rows_that_cannot_be_imported_are_counted_and_reported_and_the_rest_imported(tmp_path):
    legacy = build_legacy_db(
        tmp_path / "messy.db",
        users=[
            *LEGACY_USERS,
            (6, "Roger Histand", "twin@example.com", werkzeug_hash("x")),  # duplicate name
            (7, "public", "p@example.com", werkzeug_hash("x")),  # one of our path names
            (8, "Old Hash", "old@example.com", "sha1$abc$0123"),  # not PBKDF2
            (9, "Nul\x00Name", "n@example.com", werkzeug_hash("x")),
            (10, "Nul Email", "n\x00@example.com", werkzeug_hash("x")),
        ],
        messages=[
            *MESSAGES,
            (20, 99, "author never existed", T0, 0),
            (21, 6, "author was the duplicate", T0, 0),
            (22, 1, "no date", None, 0),
            (23, 1, "date in milliseconds", 1582246860738, 0),
            (24, 1, "date is text", "yesterday", 0),
            (25, 8, "by the user with the old hash", T0, 0),
        ],
        follows=[*FOLLOWS, (1, 99), (99, 1), (2, 2), (1, 2), (7, 1)],
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="14 rows could not be imported") as failure:
        call_command("import_legacy", str(legacy), stdout=out, stderr=err)
    assert failure.value.returncode == 3  # finished, with rows left out
    report = err.getvalue()
    assert "Skipped 1 users: duplicate username (the lowest user_id is kept)" in report
    assert "user_id=6 username='Roger Histand'" in report
    assert "Skipped 1 users: invalid username (one of the site's own paths)" in report
    assert "Skipped 1 users: invalid username (The username cannot contain" in report
    assert "Skipped 1 users: email longer than 254, with a NUL or not UTF-8" in report
    assert "Skipped 2 messages: author is not an imported user" in report
    assert "Skipped 3 messages: invalid pub_date" in report
    assert "Skipped 3 follows: follower or followed is not an imported user" in report
    assert "Skipped 1 follows: user follows themselves" in report
    assert "Skipped 1 follows: duplicate follow" in report
    assert "1 users had no Werkzeug PBKDF2 hash" in out.getvalue()

    assert set(User.objects.values_list("pk", flat=True)) == {1, 2, 5, 8}
    assert not User.objects.get(pk=8).has_usable_password()
    assert set(Message.objects.values_list("pk", flat=True)) == {10, 11, 14, 25}
    assert Follow.objects.count() == 3

    # A second run reaches the same verdict and adds nothing.
    with pytest.raises(CommandError, match="14 rows could not be imported"):
        run(legacy)
    assert Follow.objects.count() == 3 and Message.objects.count() == 4


def test_repeated_or_invalid_ids_from_a_port_without_primary_keys_are_skipped(tmp_path):
    loose = LEGACY_SCHEMA.replace("integer primary key autoincrement", "integer")
    legacy = build_legacy_db(
        tmp_path / "loose.db",
        schema=loose,
        users=[*LEGACY_USERS, (2, "Second Two", "two@example.com", werkzeug_hash("x"))],
        messages=[*MESSAGES, (11, 1, "same id again", T0, 0), (None, 1, "no id", T0, 0)],
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 rows could not be imported"):
        call_command("import_legacy", str(legacy), stdout=io.StringIO(), stderr=err)
    assert "Skipped 1 users: duplicate user_id" in err.getvalue()
    assert "Skipped 1 messages: duplicate message_id" in err.getvalue()
    assert "Skipped 1 messages: invalid message_id" in err.getvalue()
    assert sorted(Message.objects.values_list("pk", flat=True)) == [10, 11, 14]


def test_our_existing_users_are_never_overwritten(legacy_db):
    same_name = UserFactory(id=40, username="Geoffrey Stieff")
    same_id = UserFactory(id=5, username="someone else")
    err = io.StringIO()
    with pytest.raises(CommandError, match="could not be imported"):
        call_command("import_legacy", str(legacy_db), stdout=io.StringIO(), stderr=err)
    assert "username already taken by another of our users" in err.getvalue()
    assert "user_id already belongs to another of our users" in err.getvalue()
    same_name.refresh_from_db()
    same_id.refresh_from_db()
    assert (same_name.pk, same_name.password) != (2, "werkzeug$" + LEGACY_USERS[1][3])
    assert same_id.username == "someone else" and same_id.email != "wendell@example.com"
    # Only Roger came over: the others' messages and follows had no account to go to.
    assert set(Message.objects.values_list("pk", flat=True)) == {10}
    assert Follow.objects.count() == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's AUTOINCREMENT moves past explicit ids by itself; only PostgreSQL's "
    "sequences need advancing",
)
def test_new_rows_get_ids_above_the_imported_ones_on_postgresql(tmp_path):
    # Ids far above anything the test run's sequences have handed out.
    legacy = build_legacy_db(
        tmp_path / "big_ids.db",
        users=[(500_001, "high", "h@example.com", werkzeug_hash("x"))],
        messages=[(700_001, 500_001, "high id", T0, 0)],
    )
    run(legacy)
    assert UserFactory().pk > 500_001
    assert Message.objects.create(author_id=500_001, text="new").pk > 700_001


@pytest.fixture
def legacy_postgres_url():
    """The legacy tables in a scratch schema of the test database, as a postgres:// URL."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL source needs DATABASE_URL to point at PostgreSQL")
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    with psycopg.connect(url, autocommit=True) as source:
        source.execute("DROP SCHEMA IF EXISTS legacy_src CASCADE")
        source.execute("CREATE SCHEMA legacy_src")
        source.execute(
            'CREATE TABLE legacy_src."user" (user_id serial primary key, username text, '
            "email text, pw_hash text)"
        )
        source.execute("CREATE TABLE legacy_src.follower (who_id integer, whom_id integer)")
        source.execute(
            "CREATE TABLE legacy_src.message (message_id serial primary key, author_id integer, "
            "text text, pub_date integer, flagged integer)"
        )
        with source.cursor() as cursor:
            for table, rows in (
                ('"user"', LEGACY_USERS),
                ("message", MESSAGES),
                ("follower", FOLLOWS),
            ):
                values = ", ".join(["%s"] * len(rows[0]))
                cursor.executemany(f"INSERT INTO legacy_src.{table} VALUES ({values})", rows)
    yield url + "?options=-csearch_path%3Dlegacy_src"
    with psycopg.connect(url, autocommit=True) as source:
        source.execute("DROP SCHEMA legacy_src CASCADE")


def test_a_postgresql_source_imports_the_same(legacy_postgres_url, client):
    out, _ = run(legacy_postgres_url)
    assert counts() == (3, 3, 3)
    assert Message.objects.get(pk=11).flagged
    assert client.post(
        "/login", {"username": "Wendell Ballan", "password": "6cl_[\\"}
    ).status_code == (HTTPStatus.FOUND)
    out, _ = run(legacy_postgres_url)
    assert "Nothing new to import" in out


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "legacy" / "minitwit_legacy.db").exists(),
    reason="../shared/legacy/minitwit_legacy.db is not present",
)
def test_the_course_legacy_database_imports_completely_and_roger_signs_in(client):
    out, err = run(SHARED / "legacy" / "minitwit_legacy.db")
    assert counts() == (200, 11_306, 6_265)
    assert "Skipped" not in err
    response = client.post("/login", {"username": "Roger Histand", "password": "]=)[X{Km{z"})
    assert response.status_code == HTTPStatus.FOUND
    assert "sign out [Roger Histand]" in client.get("/").text
    assert not User.objects.get(username="Roger Histand").password.startswith("werkzeug$")


@pytest.mark.slow
def test_from_a_shell_the_exit_status_tells_complete_from_partial(manage_py, tmp_path, legacy_db):
    done = manage_py("import_legacy", legacy_db, "-v0")
    assert done.returncode == 0, done.stderr
    messy = build_legacy_db(
        tmp_path / "messy.db", users=LEGACY_USERS, messages=MESSAGES, follows=[(1, 99)]
    )
    partial = manage_py("import_legacy", messy, "-v0")
    assert partial.returncode == 3
    assert "Skipped 1 follows" in partial.stderr
    missing = manage_py("import_legacy", tmp_path / "nope.db")
    assert missing.returncode == 1
    assert "No such file" in missing.stderr


def test_legacy_text_that_is_not_utf8_is_counted_and_the_import_goes_on(tmp_path):
    # SQLite keeps whatever bytes it was given; reading such text used to stop the import.
    legacy = build_legacy_db(tmp_path / "legacy.db", users=LEGACY_USERS[:1])
    db = sqlite3.connect(legacy)
    db.execute(
        """INSERT INTO "user" VALUES (2, CAST(X'616CFF' AS TEXT), 'b@x', ?)""", [werkzeug_hash("x")]
    )
    db.execute("INSERT INTO message VALUES (10, 1, CAST(X'6869FE' AS TEXT), ?, 0)", [T0])
    db.execute("INSERT INTO message VALUES (11, 1, 'fine', ?, 0)", [T0])
    db.commit()
    db.close()
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 rows could not be imported"):
        call_command("import_legacy", str(legacy), stdout=io.StringIO(), stderr=err)
    assert "Skipped 1 users: invalid username (The username cannot contain" in err.getvalue()
    assert "Skipped 1 messages: text missing, with a NUL or not UTF-8" in err.getvalue()
    assert list(Message.objects.values_list("text", flat=True)) == ["fine"]

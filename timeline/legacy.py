"""Moving a database of the course's original MiniTwit into ours (manage.py import_legacy).

The original schema: ``user(user_id, username, email, pw_hash)``, ``follower(who_id,
whom_id)``, ``message(message_id, author_id, text, pub_date, flagged)`` with ``pub_date``
a Unix timestamp and Werkzeug ``pbkdf2:sha256:<iterations>$<salt>$<hex>`` hashes, in an
SQLite file or a PostgreSQL database.

Ids are kept, so links to /<user> and message ids in moderation notes stay valid. Every
row is checked before it is written; a row that cannot be imported is counted with its
reason, never allowed to stop the run. A row already imported (same id, same content) is
counted as present, which makes a second run a no-op.
"""

import datetime as dt
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError

from . import read_cache, selectors
from .hashers import WerkzeugPBKDF2Hasher
from .models import Follow, Message, User
from .parsing import parse_int
from .usernames import confusable_key, validate_username
from .validators import EMAIL_MAX_LENGTH, is_text

# Werkzeug's generate_password_hash output; older "sha1$salt$hex" forms are not PBKDF2.
WERKZEUG_PBKDF2 = re.compile(r"^pbkdf2:[a-z0-9]+:[0-9]+\$[^$]*\$[0-9a-f]+$")
# How many offending rows the report quotes per reason.
EXAMPLES_PER_REASON = 3

QUERIES = {
    "users": 'SELECT user_id, username, email, pw_hash FROM "user" ORDER BY user_id',
    "messages": (
        "SELECT message_id, author_id, text, pub_date, flagged FROM message ORDER BY message_id"
    ),
    "follows": "SELECT who_id, whom_id FROM follower ORDER BY who_id, whom_id",
}
TABLES = {"users": "user", "messages": "message", "follows": "follower"}


class LegacySourceError(Exception):
    """The source cannot be read as an original MiniTwit database."""


@dataclass
class PhaseReport:
    """What happened to the rows of one legacy table."""

    read: int = 0
    imported: int = 0
    present: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str, example: str) -> None:
        self.skipped[reason] += 1
        quoted = self.examples.setdefault(reason, [])
        if len(quoted) < EXAMPLES_PER_REASON:
            quoted.append(example)


@dataclass
class ImportReport:
    users: PhaseReport = field(default_factory=PhaseReport)
    messages: PhaseReport = field(default_factory=PhaseReport)
    follows: PhaseReport = field(default_factory=PhaseReport)
    # Users whose legacy hash is not Werkzeug PBKDF2: imported, but they cannot sign in
    # until someone sets a password in the admin.
    unusable_passwords: int = 0
    # Users imported without a confusable_key because an older account looks the same.
    confusable_names: int = 0

    @property
    def phases(self) -> dict[str, PhaseReport]:
        return {"users": self.users, "messages": self.messages, "follows": self.follows}

    @property
    def imported(self) -> int:
        return sum(phase.imported for phase in self.phases.values())

    @property
    def skipped(self) -> int:
        return sum(phase.skipped_total for phase in self.phases.values())


class LegacySource:
    """A read-only connection to the legacy database: an SQLite path or a PostgreSQL URL."""

    def __init__(self, location: str):
        self.location = location
        self.is_postgresql = location.startswith(("postgres://", "postgresql://"))
        # psycopg's or sqlite3's: two DB-API drivers whose connection types share no
        # declared interface, used here only through what both provide.
        self.connection: Any
        if self.is_postgresql:
            try:
                self.connection = psycopg.connect(location)
                self.connection.read_only = True
            except psycopg.Error as exc:
                raise LegacySourceError(
                    f"Cannot connect to {_redact(location)}: {_first_line(exc)}"
                ) from exc
            self._errors: tuple = (psycopg.Error,)
        else:
            path = Path(location)
            if not path.is_file():
                raise LegacySourceError(f"No such file: {location}")
            # mode=ro: the import must never change (or create) the source.
            self.connection = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            # SQLite stores whatever bytes it was given. Text that is not UTF-8 would stop
            # the whole read with an OperationalError; as lone surrogates it reaches the
            # row checks, which refuse it like any other invalid text, and the import goes on.
            self.connection.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
            self._errors = (sqlite3.Error,)
        try:
            self.check_schema()
        except LegacySourceError:
            self.connection.close()
            raise

    @property
    def description(self) -> str:
        return _redact(self.location)

    def close(self) -> None:
        self.connection.close()

    def check_schema(self) -> None:
        """Raise LegacySourceError unless all three tables have the columns we read."""
        for phase, query in QUERIES.items():
            cursor = self.connection.cursor()
            try:
                cursor.execute(query.split(" ORDER BY")[0] + " LIMIT 0")
            except self._errors as exc:
                raise LegacySourceError(
                    f"{self.description} is not an original MiniTwit database: reading table "
                    f'"{TABLES[phase]}" failed: {_first_line(exc)}'
                ) from exc
            finally:
                cursor.close()
                if self.is_postgresql:
                    self.connection.rollback()

    def count(self, phase: str) -> int:
        cursor = self.connection.cursor()
        cursor.execute(f'SELECT COUNT(*) FROM "{TABLES[phase]}"')
        (total,) = cursor.fetchone()
        cursor.close()
        return total

    def batches(self, phase: str, size: int):
        """The table's rows in `size`-row lists, streamed (a server-side cursor on PostgreSQL)."""
        if self.is_postgresql:
            cursor = self.connection.cursor(name=f"legacy_{phase}")
        else:
            cursor = self.connection.cursor()
        try:
            cursor.execute(QUERIES[phase])
            while rows := cursor.fetchmany(size):
                yield rows
        except self._errors as exc:
            raise LegacySourceError(f"Reading {TABLES[phase]} failed: {exc}") from exc
        finally:
            cursor.close()


def _first_line(exc: Exception) -> str:
    # PostgreSQL appends the query and a caret line; the first line says what is wrong.
    return str(exc).strip().splitlines()[0]


def _redact(location: str) -> str:
    """The location without a password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", location)


class LegacyImporter:
    """Reads `source` in batches and writes what it can into our tables.

    With `dry_run`, nothing is written: every check still runs (users the run would create
    count as present for their messages and follows), so the report is what a real run
    would do. The caller wraps a real run in one transaction: all or nothing.
    """

    def __init__(self, source: LegacySource, *, batch_size: int, dry_run: bool, progress):
        self.source = source
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.progress = progress  # callable(label, total) -> context manager with advance(n)
        self.report = ImportReport()
        # Legacy user ids whose account is ours after this run (imported now or before):
        # the only authors and follow ends that may be imported.
        self.known_users: set[int] = set()
        self._usernames_seen: set[str] = set()
        self._keys_seen: set[str] = set()

    def run(self) -> ImportReport:
        for phase, handle in (
            ("users", self._users),
            ("messages", self._messages),
            ("follows", self._follows),
        ):
            report = self.report.phases[phase]
            with self.progress(phase, self.source.count(phase)) as bar:
                previous = None
                for rows in self.source.batches(phase, self.batch_size):
                    report.read += len(rows)
                    previous = handle(rows, report, previous)
                    bar.advance(len(rows))
        return self.report

    # Each handler takes one batch and the last key of the previous batch (the source is
    # read in key order, so a repeated key is always next to its twin).

    def _users(self, rows, report: PhaseReport, previous):
        ids = [row[0] for row in rows if isinstance(row[0], int)]
        names = [str(row[1]) for row in rows if row[1] is not None]
        taken_ids = dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))
        taken_names = selectors.users_by_name(usernames=names, active_only=False)
        new = []
        for user_id, username, email, pw_hash in rows:
            example = f"user_id={user_id!r} username={username!r}"
            problem = _key_problem(user_id, previous, "user_id")
            if problem:
                report.skip(problem, example)
                continue
            previous = user_id
            username = "" if username is None else str(username)
            if username in self._usernames_seen:
                report.skip("duplicate username (the lowest user_id is kept)", example)
                continue
            self._usernames_seen.add(username)
            if taken_ids.get(user_id) == username:
                report.present += 1
                self.known_users.add(user_id)
                continue
            if user_id in taken_ids:
                report.skip("user_id already belongs to another of our users", example)
                continue
            if username in taken_names:
                report.skip("username already taken by another of our users", example)
                continue
            try:
                validate_username(username)
            except ValidationError as exc:
                reserved = exc.error_list[0].code == "reserved"
                reason = "one of the site's own paths" if reserved else exc.messages[0]
                report.skip(f"invalid username ({reason})", example)
                continue
            email = "" if email is None else str(email)
            if len(email) > EMAIL_MAX_LENGTH or not is_text(email):
                report.skip(
                    f"email longer than {EMAIL_MAX_LENGTH}, with a NUL or not UTF-8", example
                )
                continue
            pw_hash = "" if pw_hash is None else str(pw_hash)
            if WERKZEUG_PBKDF2.match(pw_hash):
                password = WerkzeugPBKDF2Hasher.from_werkzeug(pw_hash)
            else:
                password = make_password(None)
                self.report.unusable_passwords += 1
            new.append(
                User(
                    id=user_id,
                    username=username,
                    email=email,
                    password=password,
                    confusable_key=self._confusable_key(username),
                )
            )
            self.known_users.add(user_id)
        self._write(User, new, report)
        return previous

    def _confusable_key(self, username: str) -> str | None:
        """The name's look, or None when an account (ours, or one imported before it) looks
        the same: these are existing accounts, so they are kept, and the older account's
        key still keeps new sign-ups from looking like either."""
        key = confusable_key(username)
        if key in self._keys_seen or selectors.confusable_user_exists(key=key):
            self.report.confusable_names += 1
            return None
        self._keys_seen.add(key)
        return key

    def _messages(self, rows, report: PhaseReport, previous):
        ids = [row[0] for row in rows if isinstance(row[0], int)]
        taken = dict(Message.objects.filter(pk__in=ids).values_list("pk", "author_id"))
        new = []
        for message_id, author_id, text, pub_date, flagged in rows:
            example = f"message_id={message_id!r} author_id={author_id!r}"
            problem = _key_problem(message_id, previous, "message_id")
            if problem:
                report.skip(problem, example)
                continue
            previous = message_id
            if author_id not in self.known_users:
                report.skip("author is not an imported user", example)
                continue
            if message_id in taken:
                if taken[message_id] == author_id:
                    report.present += 1
                else:
                    report.skip("message_id already belongs to another message", example)
                continue
            if text is None or not is_text(str(text)):
                report.skip("text missing, with a NUL or not UTF-8", example)
                continue
            when = parse_timestamp(pub_date)
            if when is None:
                report.skip("invalid pub_date", f"{example} pub_date={pub_date!r}")
                continue
            is_flagged = parse_flag(flagged)
            if is_flagged is None:
                report.skip("invalid flagged value", f"{example} flagged={flagged!r}")
                continue
            new.append(
                Message(
                    id=message_id,
                    author_id=author_id,
                    text=str(text),
                    pub_date=when,
                    flagged=is_flagged,
                )
            )
        self._write(Message, new, report)
        return previous

    def _follows(self, rows, report: PhaseReport, previous):
        whos = [row[0] for row in rows if isinstance(row[0], int)]
        taken = set()
        if whos:
            # The batch covers a contiguous range of followers (rows come sorted), which
            # the unique (follower, followed) index serves directly.
            taken = set(
                Follow.objects.filter(
                    follower_id__gte=min(whos), follower_id__lte=max(whos)
                ).values_list("follower_id", "followed_id")
            )
        new = []
        for who, whom in rows:
            example = f"who_id={who!r} whom_id={whom!r}"
            if (who, whom) == previous:
                report.skip("duplicate follow", example)
                continue
            previous = (who, whom)
            if who not in self.known_users or whom not in self.known_users:
                report.skip("follower or followed is not an imported user", example)
                continue
            if (who, whom) in taken:
                report.present += 1
                continue
            if who == whom:
                report.skip("user follows themselves", example)
                continue
            new.append(Follow(follower_id=who, followed_id=whom))
        self._write(Follow, new, report)
        return previous

    def _write(self, model, rows: list, report: PhaseReport) -> None:
        if rows and not self.dry_run:
            model.objects.bulk_create(rows)
            # bulk_create sends no model signal (timeline/read_cache.py).
            read_cache.invalidate(*read_cache.topics_of(model))
        report.imported += len(rows)


def _key_problem(value, previous, column: str) -> str | None:
    """Why a legacy primary key cannot be imported, or None. Rows come sorted by key, so a
    repeated key (possible where the legacy table had no constraint) follows its twin."""
    if not isinstance(value, int) or value < 1:
        return f"invalid {column}"
    if value == previous:
        return f"duplicate {column}"
    return None


def parse_timestamp(value) -> dt.datetime | None:
    """A legacy pub_date (Unix seconds; a PostgreSQL port may hold a timestamp) as an aware
    datetime, or None when it is missing or not a plausible moment."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        # The original schema stores whole seconds; float() would also take "nan", "1e9",
        # "1_000" and non-ASCII digits.
        value = parse_int(value.strip())
        if value is None:
            return None
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_flag(value) -> bool | None:
    """The legacy `flagged` column (0/1, NULL meaning not flagged) as a bool, or None."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = parse_int(value.strip())
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        # A PostgreSQL port may hold NUMERIC; 1.5 must not be truncated into "flagged".
        value = int(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None

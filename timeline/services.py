"""Writes: the state changes users and operators ask for one at a time go through these
functions, whether they come from a web form, the simulator API, an admin action (flag,
deactivate) or the flag_messages command.

Three writers go around them on purpose:
- `generate_data` and `import_legacy` bulk-load through timeline/bulk.py (COPY on
  PostgreSQL, a batch of rows per statement), which a per-row service cannot do at their
  volume; generate_data makes valid rows itself, and import_legacy checks each row and
  skips, with its reason, one it cannot store (timeline/legacy.py).
- The Django admin's add and change forms save through the ORM; the user forms apply the
  sign-up's look-alike-name rule (admin.LookalikeNameMixin).

Every write that can change what a reader sees retires the read cache
(timeline/read_cache.py): the statements here call `read_cache.invalidate`, and ORM saves
and deletes of users, messages and follows (the admin's forms, sign-up) do it through the
model signals that read_cache connects; timeline/bulk.py does it for the bulk loaders.

The simulator's writes (a message, a follow, an unfollow and its `latest`, thousands an
hour) are plain SQL statements rather than ORM calls: for a one-row statement Django's
query compiler costs several times what the database does, and it was the largest share of
a simulator request's CPU (docs/performance.md). The statements are portable between
PostgreSQL and SQLite, and the tests run them on both.
"""

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from . import read_cache, selectors
from .models import MESSAGE_MAX_LENGTH, Follow, Message, User
from .usernames import confusable_key, validate_username
from .validators import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG


class ServiceError(Exception):
    """A request MiniTwit refuses, with the text shown to the user (or the simulator)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def user_register(
    *, username: str, email: str, password: str, password_repeat: str | None = None
) -> User:
    """Create an account, checking in the original MiniTwit's order and with its texts.

    A name that looks like an existing one (usernames.confusable_key: "аlice" with a
    Cyrillic а beside "alice") is refused too. Safe under concurrency: of two simultaneous
    registrations of one name, or of two look-alikes, the database's unique constraints let
    exactly one through and the other gets the same refusal as if it had come second.
    """
    username = username or ""
    email = email or ""
    password = password or ""
    if not username:
        raise ServiceError("You have to enter a username")
    if not email or "@" not in email:
        raise ServiceError("You have to enter a valid email address")
    if not password:
        raise ServiceError("You have to enter a password")
    if len(password) > PASSWORD_MAX_LENGTH or len(password_repeat or "") > PASSWORD_MAX_LENGTH:
        # Before anything is hashed (forms and the API refuse it earlier still).
        raise ServiceError(PASSWORD_TOO_LONG)
    if password_repeat is not None and password != password_repeat:
        raise ServiceError("The two passwords do not match")
    try:
        validate_username(username)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0]) from exc
    if len(email) > EMAIL_MAX_LENGTH:
        raise ServiceError("You have to enter a valid email address")
    if _has_control_characters(email) or _has_control_characters(password, allowed=_ANY_CC):
        raise ServiceError("The email address and password cannot contain control characters")
    key = confusable_key(username)
    _check_name_is_free(username, key)
    user = User(username=username, email=email, confusable_key=key)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:
        # Someone else's sign-up won the race; say what the check would now say.
        _check_name_is_free(username, key)
        raise ServiceError("The username is already taken") from exc
    return user


def _check_name_is_free(username: str, key: str) -> None:
    in_use = selectors.name_in_use(username=username, key=key)
    if in_use.taken:
        raise ServiceError("The username is already taken")
    if in_use.alike:
        raise ServiceError("The username looks too much like one that is already taken")


# Passwords may hold any character but NUL (PostgreSQL-bound text never does) and lone
# surrogates (not encodable for hashing).
_ANY_CC = "".join(chr(code) for code in range(1, 0x20)) + "".join(
    chr(code) for code in range(0x7F, 0xA0)
)


def _has_control_characters(text: str, allowed: str = "") -> bool:
    """Control characters other than `allowed`, and lone surrogates (never allowed)."""
    return any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in allowed for ch in text)


def _execute(sql: str, params: Sequence, *, model) -> int:
    """Run one write statement on `model`'s table; return the number of rows it changed. A
    statement that changed rows retires the reads of that table from the read cache.

    Inside `first_write_carries()`, the first such write also runs the statement given
    there, in the same transaction (see there).
    """
    changed = _execute_statement(sql, params)
    if changed:
        read_cache.invalidate(*read_cache.topics_of(model))
    return changed


def _execute_statement(sql: str, params: Sequence) -> int:
    rider = _rider.get()
    with connection.cursor() as cursor:
        if rider is None or rider.params is None or rider.done:
            cursor.execute(sql, params)
            return cursor.rowcount
        if connection.vendor == "postgresql":
            # Two statements in one query string: PostgreSQL runs them as one implicit
            # transaction (both or neither) in one round trip, and psycopg's client-side
            # binding cursor, Django's default, allows it. rowcount is the first's.
            cursor.execute(f"{sql}; {rider.sql}", [*params, *rider.params])
            changed = cursor.rowcount
        else:
            with transaction.atomic():
                cursor.execute(sql, params)
                changed = cursor.rowcount
                cursor.execute(rider.sql, rider.params)
        rider.done = True
        return changed


def _now():
    """The current time as the database stores it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


_MESSAGE_INSERT = (
    f"INSERT INTO {Message._meta.db_table} (author_id, text, pub_date, flagged) "
    "VALUES (%s, %s, %s, %s)"
)


def message_create(*, author_id: int, text: str) -> None:
    """Post a message as the user with id `author_id`. The text is stored exactly as typed;
    templates escape it. Raises ServiceError with the text to show when it is refused."""
    _execute(_MESSAGE_INSERT, [author_id, _message_text(text), _now(), False], model=Message)


# The author looked up in the same statement: the simulator names the author, and a
# separate lookup would be one more round trip (see first_write_carries).
_MESSAGE_INSERT_AS = (
    f"INSERT INTO {Message._meta.db_table} (author_id, text, pub_date, flagged) "
    f"SELECT id, %s, %s, %s FROM {User._meta.db_table} WHERE username = %s AND is_active"
)


def message_create_as(*, username: str, text: str) -> bool:
    """Post a message as the active user named `username` (exact name); the simulator's
    tweets. Returns False, storing nothing, when no active user has that name. Raises
    ServiceError as message_create does, whether or not the user exists."""
    text = _message_text(text)
    if not selectors.could_be_username(username):
        return False
    return _execute(_MESSAGE_INSERT_AS, [text, _now(), False, username], model=Message) == 1


def _message_text(text: str | None) -> str:
    """The text to store, or ServiceError with the reason it is refused."""
    text = text or ""
    if not text.strip():
        raise ServiceError("You have to enter a message")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ServiceError(f"A message can be at most {MESSAGE_MAX_LENGTH} characters long")
    if _has_control_characters(text, allowed="\n\r\t"):
        raise ServiceError("A message cannot contain control characters")
    return text


# ON CONFLICT DO NOTHING keeps concurrent duplicate follows to one row, without an error or
# a retry (PostgreSQL 9.5+, SQLite 3.24+).
_FOLLOW_INSERT = (
    f"INSERT INTO {Follow._meta.db_table} (follower_id, followed_id, created) "
    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
)
_FOLLOW_DELETE = f"DELETE FROM {Follow._meta.db_table} WHERE follower_id = %s AND followed_id = %s"


def follow_create(*, follower_id: int, followed_id: int) -> None:
    """Make user `follower_id` follow user `followed_id`; following someone already followed
    is a no-op. Raises ServiceError for following yourself."""
    if follower_id == followed_id:
        raise ServiceError("You cannot follow yourself")
    _execute(_FOLLOW_INSERT, [follower_id, followed_id, _now()], model=Follow)


def follow_delete(*, follower_id: int, followed_id: int) -> None:
    """Stop following; unfollowing someone not followed is a no-op, as the simulator expects."""
    _execute(_FOLLOW_DELETE, [follower_id, followed_id], model=Follow)


@dataclass
class Rider:
    """A statement to run with the first write of a `first_write_carries()` block: `sql`,
    and its `params` once known (None: nothing to run). `done` once it has run."""

    sql: str
    params: Sequence | None = None
    done: bool = False


_rider: ContextVar[Rider | None] = ContextVar("rider", default=None)


@contextmanager
def first_write_carries(sql: str) -> Iterator[Rider]:
    """Run the write statement `sql` with the block's first write, or alone if the block
    writes nothing.

    Set `.params` on the yielded Rider once they are known. The first write of a service
    in this block (a message, a follow, an unfollow) then runs `sql` in the same
    transaction and, on PostgreSQL, the same round trip: where a simulator write with its
    `latest` used to cost BEGIN, the write, the `latest` upsert and COMMIT, it now costs
    one round trip and one commit (docs/performance.md). A block that writes nothing
    (a read, a 400 or 404) runs `sql` alone when it ends. If the block raises, nothing
    more runs: a failed write took the rider with it. simapi records the simulator's
    `latest` this way (simapi/latest_counter.py).
    """
    rider = Rider(sql)
    token = _rider.set(rider)
    try:
        yield rider
    finally:
        _rider.reset(token)
    if rider.params is not None and not rider.done:
        with connection.cursor() as cursor:
            cursor.execute(rider.sql, rider.params)
        rider.done = True


def user_authenticate(*, request: HttpRequest, username: str, password: str) -> User:
    """Check a sign-in with the original MiniTwit's texts; returns the user or raises
    ServiceError ("Invalid username", "Invalid password", "This account has been
    deactivated").

    Through Django's authenticate(), so that django-axes (first in AUTHENTICATION_BACKENDS)
    counts failures and refuses a locked-out sign-in before any hashing; AxesMiddleware then
    answers that request with a 429, whatever text is raised here. Django's ModelBackend
    hashes the password for an unknown name too, so an unknown name and a wrong password
    take the same time. A correct password for an imported (Werkzeug) hash re-hashes it.
    """
    username = username or ""
    password = password or ""
    if not selectors.could_be_username(username):
        # No user can have this name, and text such as a NUL would make the lookups below
        # (django-axes' first of all) fail on PostgreSQL: refuse it without asking.
        raise ServiceError("Invalid username")
    user = authenticate(request, username=username, password=password)
    if user is not None:
        return user
    known = selectors.user_get(username=username, active_only=False)
    if known is None:
        raise ServiceError("Invalid username")
    # ModelBackend refuses a deactivated account whatever the password; the second hash
    # (to say which) is spent only on those.
    if known.is_active or not known.check_password(password):
        raise ServiceError("Invalid password")
    raise ServiceError("This account has been deactivated")


# Stays under SQLite's smallest limit on bound parameters (999 before 3.32).
_ID_CHUNK = 900


@dataclass(frozen=True)
class BulkChange:
    """What a bulk moderation change did: rows changed, rows already in the wanted state,
    and the requested ids that match no row (never silently ignored)."""

    changed: int
    unchanged: int
    missing: list[int]


def messages_flag(*, ids: Iterable[int], flagged: bool = True) -> BulkChange:
    """Flag (or with `flagged=False`, unflag) messages by id.

    A flagged message disappears from every timeline and from the simulator's /msgs at
    once, because they all read through `Message.objects.visible()`; unflagging restores it.
    """
    return _set_flag(Message, "flagged", ids=ids, value=flagged)


def users_set_active(*, ids: Iterable[int], active: bool) -> BulkChange:
    """Deactivate (or reactivate) accounts by id.

    A deactivated user cannot sign in, is signed out of existing sessions on their next
    request (Django's ModelBackend refuses inactive users), and their messages are hidden
    from every timeline and from /msgs until they are reactivated; nothing is deleted.
    """
    return _set_flag(User, "is_active", ids=ids, value=active)


def _set_flag(model, field: str, *, ids: Iterable[int], value: bool) -> BulkChange:
    wanted = sorted(set(ids))
    existing: set[int] = set()
    changed = 0
    with transaction.atomic():
        for start in range(0, len(wanted), _ID_CHUNK):
            rows = model.objects.filter(pk__in=wanted[start : start + _ID_CHUNK])
            existing.update(rows.values_list("pk", flat=True))
            changed += rows.exclude(**{field: value}).update(**{field: value})
        if changed:
            read_cache.invalidate(*read_cache.topics_of(model))
    return BulkChange(
        changed=changed,
        unchanged=len(existing) - changed,
        missing=[pk for pk in wanted if pk not in existing],
    )

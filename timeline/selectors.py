"""Reads that matter, named for what they return. The web pages and the simulator API
both call these, so the two interfaces always show the same thing."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max

from .models import Follow, Message, SimulatorState, User


@dataclass(frozen=True)
class MessagePage:
    """One page of a timeline; `has_older` is known without counting the whole table."""

    messages: list[Message]
    page: int
    has_older: bool

    @property
    def has_newer(self) -> bool:
        return self.page > 1


def _page(queryset, *, page: int, per_page: int) -> MessagePage:
    # Fetch one row more than the page holds instead of COUNT(*): a count over millions of
    # messages would cost more than the page itself.
    offset = (page - 1) * per_page
    rows = list(queryset.newest_first().select_related("author")[offset : offset + per_page + 1])
    return MessagePage(messages=rows[:per_page], page=page, has_older=len(rows) > per_page)


def user_get(*, username: str) -> User | None:
    """The user with exactly this name (case-sensitive, as in the original MiniTwit)."""
    if "\x00" in username:
        # PostgreSQL rejects NUL in a query string (a 500), and no valid name contains one.
        return None
    return User.objects.filter(username=username).first()


def user_ids_by_name(*, usernames: Sequence[str]) -> dict[str, int]:
    """The ids of the users with these exact names, by name, in one query; unknown names are
    absent.

    Plain SQL: the simulator API looks a user up on every request and needs only the id, and
    the ORM's query compiler would cost more than the lookup (see services.py).
    """
    names = list(dict.fromkeys(name for name in usernames if "\x00" not in name))
    if not names:
        return {}
    placeholders = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT username, id FROM {User._meta.db_table} WHERE username IN ({placeholders})",
            names,
        )
        return dict(cursor.fetchall())


def public_timeline(*, page: int = 1, per_page: int) -> MessagePage:
    return _page(Message.objects.visible(), page=page, per_page=per_page)


def user_timeline(*, user: User, page: int = 1, per_page: int) -> MessagePage:
    return _page(Message.objects.visible().filter(author=user), page=page, per_page=per_page)


def personal_timeline(*, user: User, page: int = 1, per_page: int) -> MessagePage:
    """The user's own messages and those of everyone they follow.

    The followed ids are fetched first and passed as a literal list: with a subquery and an
    OR, PostgreSQL walks the public index and filters, which costs ~50 ms for a user who
    follows quiet authors among a million messages; with the list it estimates the authors'
    share and picks the right index (~4 ms; benchmarks/timeline_queries.py).
    """
    authors = [user.pk, *Follow.objects.filter(follower=user).values_list("followed_id", flat=True)]
    messages = Message.objects.visible().filter(author_id__in=authors)
    return _page(messages, page=page, per_page=per_page)


def newest_messages(*, limit: int, author_id: int | None = None) -> list[tuple]:
    """The newest `limit` visible messages, optionally of one author (the simulator's
    /msgs), as rows with `.text`, `.pub_date` (aware, UTC) and `.author__username`.

    Rows, not model instances: GET /msgs?no=10000 builds ten thousand of them.
    """
    messages = Message.objects.visible()
    if author_id is not None:
        messages = messages.filter(author_id=author_id)
    return list(
        messages.newest_first().values_list("text", "pub_date", "author__username", named=True)[
            :limit
        ]
    )


def is_following(*, follower: User, followed: User) -> bool:
    return Follow.objects.filter(follower=follower, followed=followed).exists()


def followed_usernames(*, user_id: int, limit: int) -> list[str]:
    """Names of the users the user `user_id` follows, in the order they were followed."""
    return list(
        Follow.objects.filter(follower_id=user_id)
        .order_by("id")
        .values_list("followed__username", flat=True)[:limit]
    )


def latest_value() -> int:
    """The last `latest` the simulator sent, or -1 before any."""
    value = SimulatorState.objects.filter(pk=1).values_list("latest", flat=True).first()
    return -1 if value is None else value


@dataclass(frozen=True)
class SiteTotals:
    """Sizes of the site for the /metrics gauges. See site_totals() for how exact they are."""

    users: int
    messages: int
    follows: int
    # The highest message id: only grows, so its rate is "messages posted per second".
    messages_posted: int
    # Size of the database on disk, when the backend can say it cheaply.
    database_bytes: int | None


def site_totals() -> SiteTotals:
    """Users, messages and follow relations, cheap enough to compute on every scrape.

    On PostgreSQL the three counts are the statistics collector's live-row counts
    (pg_stat_user_tables.n_live_tup, kept current by every insert and delete and flushed
    about once a second), falling back to the planner's reltuples when the statistics were
    reset (after a crash or pg_stat_reset). Both are O(1) lookups; an exact COUNT(*) reads
    the whole table and grows with it. The price: a count can trail by a second or be a
    little off after a bulk change until autovacuum analyses the table. Elsewhere
    (SQLite, development) the counts are exact. `messages_posted` is exact everywhere:
    max(id) is one step down the primary key index.
    """
    messages_posted = Message.objects.aggregate(top=Max("id"))["top"] or 0
    if connection.vendor != "postgresql":
        return SiteTotals(
            users=User.objects.count(),
            messages=Message.objects.count(),
            follows=Follow.objects.count(),
            messages_posted=messages_posted,
            database_bytes=_sqlite_size(),
        )
    tables = [model._meta.db_table for model in (User, Message, Follow)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, COALESCE(s.n_live_tup, 0), c.reltuples
            FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.oid IN (to_regclass(%s), to_regclass(%s), to_regclass(%s))
            """,
            tables,
        )
        estimates = {
            name: int(live) if live > 0 else max(int(reltuples), 0)
            for name, live, reltuples in cursor.fetchall()
        }
        cursor.execute("SELECT pg_database_size(current_database())")
        (database_bytes,) = cursor.fetchone()
    users, messages, follows = (estimates.get(table, 0) for table in tables)
    return SiteTotals(
        users=users,
        messages=messages,
        follows=follows,
        messages_posted=messages_posted,
        database_bytes=database_bytes,
    )


def _sqlite_size() -> int | None:
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_count")
        (pages,) = cursor.fetchone()
        cursor.execute("PRAGMA page_size")
        (page_size,) = cursor.fetchone()
    return pages * page_size


def messages_export(*, only_flagged: bool = False, chunk_size: int = 5000):
    """Every message as (id, author username, text, flagged), oldest id first, streamed.

    `iterator()` keeps memory flat on millions of rows: PostgreSQL reads through a
    server-side cursor, `chunk_size` rows at a time.
    """
    messages = Message.objects.all()
    if only_flagged:
        messages = messages.filter(flagged=True)
    return (
        messages.order_by("id")
        .values_list("id", "author__username", "text", "flagged")
        .iterator(chunk_size=chunk_size)
    )


@dataclass(frozen=True)
class ActivityCounts:
    messages: int
    following: int
    followers: int


def user_activity_counts(*, user: User) -> ActivityCounts:
    """How many messages `user` wrote (flagged ones included), how many users they follow
    and how many follow them; each count reads one index."""
    return ActivityCounts(
        messages=Message.objects.filter(author=user).count(),
        following=Follow.objects.filter(follower=user).count(),
        followers=Follow.objects.filter(followed=user).count(),
    )

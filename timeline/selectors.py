"""Reads that matter, named for what they return. The web pages and the simulator API
both call these, so the two interfaces always show the same thing."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max, Q

from .models import Follow, Message, SimulatorState, User
from .usernames import USERNAME_MAX_LENGTH


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


def users_by_name(*, usernames: list[str]) -> dict[str, User]:
    """The users with these exact names (case-sensitive, as in the original MiniTwit), by
    name, in one query; unknown names are absent.

    Every lookup of users by name comes here, so this is the one place that keeps text no
    username can be out of the query: PostgreSQL refuses a NUL (a DataError, so a 500),
    psycopg cannot encode a lone surrogate, and an over-long name only costs a query.
    """
    names = [name for name in usernames if _could_be_username(name)]
    if not names:
        return {}
    return {user.username: user for user in User.objects.filter(username__in=names)}


def user_ids_by_name(*, usernames: Sequence[str]) -> dict[str, int]:
    """The ids of the users with these exact names, by name, in one query; unknown names are
    absent. The same guard as users_by_name keeps impossible names out of the query.

    Plain SQL: the simulator API looks a user up on every request and needs only the id, and
    the ORM's query compiler would cost more than the lookup (see services.py).
    """
    names = list(dict.fromkeys(name for name in usernames if _could_be_username(name)))
    if not names:
        return {}
    placeholders = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT username, id FROM {User._meta.db_table} WHERE username IN ({placeholders})",
            names,
        )
        return dict(cursor.fetchall())


def user_get(*, username: str) -> User | None:
    """The user with exactly this name, or None."""
    return users_by_name(usernames=[username]).get(username)


@dataclass(frozen=True)
class NameInUse:
    """Whether a name is someone's already (`taken`), or looks like someone's (`alike`)."""

    taken: bool
    alike: bool


def name_in_use(*, username: str, key: str) -> NameInUse:
    """Both questions in one query, so that an account created between two queries cannot
    make an identical name read as a look-alike."""
    if not _could_be_username(username):
        return NameInUse(taken=False, alike=confusable_user_exists(key=key))
    holders = set(
        User.objects.filter(Q(username=username) | Q(confusable_key=key)).values_list(
            "username", flat=True
        )
    )
    return NameInUse(taken=username in holders, alike=bool(holders - {username}))


def confusable_user_exists(*, key: str, other_than: User | None = None) -> bool:
    """Whether an account (other than `other_than`) already has this look
    (usernames.confusable_key)."""
    users = User.objects.filter(confusable_key=key)
    if other_than is not None:
        users = users.exclude(pk=other_than.pk)
    return users.exists()


def _could_be_username(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= USERNAME_MAX_LENGTH
        and "\x00" not in name
        and not any("\ud800" <= ch <= "\udfff" for ch in name)
    )


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

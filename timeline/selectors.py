"""Reads that matter, named for what they return. The web pages and the simulator API
both call these, so the two interfaces always show the same thing."""

import datetime as dt
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, CharField, Max, Q, Subquery
from django.db.models.expressions import RawSQL

from .models import Follow, Message, User
from .usernames import USERNAME_MAX_LENGTH


@dataclass(frozen=True)
class PagePosition:
    """Which page of a timeline to show: the newest (the default), the messages older than
    message `before`, those newer than message `after` (both message ids, taken from the
    page's own links), or an old-style page number `page` (1-based; links made before the
    cursors, served with an OFFSET, so callers cap it)."""

    before: int | None = None
    after: int | None = None
    page: int = 1


NEWEST = PagePosition()


@dataclass(frozen=True)
class MessagePage:
    """One page of a timeline, newest first; whether older and newer pages exist is known
    without counting the whole table. `older_cursor` / `newer_cursor` are the message ids
    for the page's "older" (`?before=`) and "newer" (`?after=`) links, or None."""

    messages: list[Message]
    has_older: bool
    has_newer: bool

    @property
    def older_cursor(self) -> int | None:
        return self.messages[-1].pk if self.has_older and self.messages else None

    @property
    def newer_cursor(self) -> int | None:
        return self.messages[0].pk if self.has_newer and self.messages else None


def _page(queryset, *, at: PagePosition, per_page: int) -> MessagePage:
    """Keyset pagination on (pub_date, id), the timelines' order: a page that follows a
    cursor is one index range scan however deep it is, where an OFFSET walks (and joins)
    every row before it. The cursor is a message id; its pub_date comes from a subquery,
    so a page stays one query. Fetching one row more than the page holds tells whether
    there is more, instead of COUNT(*) over millions of messages."""
    queryset = queryset.select_related("author")
    if at.after is not None:
        anchor = _pub_date_of(at.after)
        newer = queryset.filter(pub_date__gte=anchor).filter(
            Q(pub_date__gt=anchor) | Q(id__gt=at.after)
        )
        rows = list(newer.order_by("pub_date", "id")[: per_page + 1])
        if len(rows) > per_page:
            return MessagePage(messages=rows[:per_page][::-1], has_older=True, has_newer=True)
        # Fewer than a page left above the cursor: that is the newest page, shown whole.
        at = NEWEST
    if at.before is not None:
        anchor = _pub_date_of(at.before)
        # "pub_date <= anchor" bounds the index scan; the OR only sorts out the ties.
        queryset = queryset.filter(pub_date__lte=anchor).filter(
            Q(pub_date__lt=anchor) | Q(id__lt=at.before)
        )
        offset = 0
    else:
        offset = (at.page - 1) * per_page
    rows = list(queryset.newest_first()[offset : offset + per_page + 1])
    return MessagePage(
        messages=rows[:per_page],
        has_older=len(rows) > per_page,
        has_newer=at.before is not None or at.page > 1,
    )


def _pub_date_of(message_id: int) -> Subquery:
    # Any message, flagged or not: a cursor stays valid when its message is hidden later.
    return Subquery(Message.objects.filter(pk=message_id).values("pub_date")[:1])


def users_by_name(*, usernames: list[str], active_only: bool = True) -> dict[str, User]:
    """The users with these exact names (case-sensitive, as in the original MiniTwit), by
    name, in one query; unknown names are absent.

    A deactivated user (is_active=False) counts as unknown unless `active_only=False`: the
    public pages and the API answer 404 for them, while the admin, sign-in (which says the
    account is deactivated) and imports (a deactivated user's name stays taken) see them.

    Every lookup of users by name comes here, so this is the one place that keeps text no
    username can be out of the query: PostgreSQL refuses a NUL (a DataError, so a 500),
    psycopg cannot encode a lone surrogate, and an over-long name only costs a query.
    """
    names = [name for name in usernames if could_be_username(name)]
    if not names:
        return {}
    users = User.objects.filter(username__in=names)
    if active_only:
        users = users.filter(is_active=True)
    return {user.username: user for user in users}


def user_ids_by_name(*, usernames: Sequence[str]) -> dict[str, int]:
    """The ids of the active users with these exact names, by name, in one query; unknown
    and deactivated users are absent. The same guard as users_by_name keeps impossible
    names out of the query.

    Plain SQL: the simulator API looks a user up on every request and needs only the id, and
    the ORM's query compiler would cost more than the lookup (see services.py).
    """
    names = list(dict.fromkeys(name for name in usernames if could_be_username(name)))
    if not names:
        return {}
    placeholders = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT username, id FROM {User._meta.db_table} WHERE username IN ({placeholders}) "
            "AND is_active",
            names,
        )
        return dict(cursor.fetchall())


def user_get(*, username: str, active_only: bool = True) -> User | None:
    """The user with exactly this name, or None (also for a deactivated one unless
    `active_only=False`; see users_by_name)."""
    return users_by_name(usernames=[username], active_only=active_only).get(username)


@dataclass(frozen=True)
class NameInUse:
    """Whether a name is someone's already (`taken`), or looks like someone's (`alike`)."""

    taken: bool
    alike: bool


def name_in_use(*, username: str, key: str) -> NameInUse:
    """Both questions in one query, so that an account created between two queries cannot
    make an identical name read as a look-alike."""
    if not could_be_username(username):
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


def could_be_username(name: object) -> bool:
    """Whether any user could have this name: a lookup of anything else (NUL, a lone
    surrogate, over-long) would fail in the database or cannot match, so it is not sent."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= USERNAME_MAX_LENGTH
        and "\x00" not in name
        and not any("\ud800" <= ch <= "\udfff" for ch in name)
    )


def _newest_visible(*, author_id: int | None = None):
    """The one query for "the newest visible messages", of one author when `author_id` is
    given: not flagged, author not deactivated, newest first (id breaks ties). The
    timelines page through it (_page); the simulator's /msgs takes its first rows
    (newest_messages)."""
    messages = Message.objects.visible()
    if author_id is not None:
        messages = messages.filter(author_id=author_id)
    return messages.newest_first()


def public_timeline(*, at: PagePosition = NEWEST, per_page: int) -> MessagePage:
    return _page(_newest_visible(), at=at, per_page=per_page)


def user_timeline(*, user: User, at: PagePosition = NEWEST, per_page: int) -> MessagePage:
    return _page(_newest_visible(author_id=user.pk), at=at, per_page=per_page)


def personal_timeline(*, user: User, at: PagePosition = NEWEST, per_page: int) -> MessagePage:
    """The user's own messages and those of everyone they follow.

    The followed ids are fetched first and passed as constants, so PostgreSQL estimates the
    authors' share from its statistics (with a subquery and an OR it guesses half the
    table). On PostgreSQL they travel as one array literal (`author_id = ANY('{...}')`,
    which is what PostgreSQL makes of an IN list anyway): building, quoting and parsing
    1,000 separate placeholders took longer than the query (12-13 ms against 21-24 ms per
    page for a reader who follows 1,000; docs/performance.md, "Pages at scale").

    Known limit: a reader who follows a few authors with old messages still gets the
    public-index walk (the planner assumes their messages are spread evenly in time): one
    such user in the generated million walks 240,000 rows, ~120 ms. A per-author LATERAL
    top-30 fixes that case (0.3 ms) but costs ~20 ms for 1,000 follows.
    """
    authors = [user.pk, *Follow.objects.filter(follower=user).values_list("followed_id", flat=True)]
    messages = _newest_visible()
    if connection.vendor == "postgresql":
        column = f"{connection.ops.quote_name(Message._meta.db_table)}.author_id"
        array = "{" + ",".join(str(int(pk)) for pk in authors) + "}"
        in_authors = RawSQL(f"{column} = ANY(%s::bigint[])", (array,), BooleanField())
        messages = messages.filter(in_authors)
    else:
        messages = messages.filter(author_id__in=authors)
    return _page(messages, at=at, per_page=per_page)


def newest_messages(*, limit: int, author_id: int | None = None) -> list[tuple]:
    """The newest `limit` visible messages, optionally of one author (the simulator's
    /msgs), as rows with `.text`, `.pub_date` (RFC 3339 text in UTC, as DRF writes a
    datetime: "2026-03-01T12:00:00.123456Z", no fraction on a whole second) and
    `.author__username`.

    Rows, not model instances: GET /msgs?no=10000 builds ten thousand of them. On
    PostgreSQL the timestamp is formatted by the query: parsing 10,000 timestamps in psycopg
    and formatting them again in Python took about half of that request's Python time.
    """
    messages = _newest_visible(author_id=author_id)
    if connection.vendor != "postgresql":
        rows = messages.values_list("text", "pub_date", "author__username", named=True)[:limit]
        return [row._replace(pub_date=_rfc3339(row.pub_date)) for row in rows]
    column = f"{connection.ops.quote_name(Message._meta.db_table)}.pub_date"
    stamp = RawSQL(
        f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
        (),
        CharField(),
    )
    rows = messages.annotate(stamp=stamp).values_list(
        "text", "stamp", "author__username", named=True
    )[:limit]
    whole_second = ".000000Z"
    return [
        _Row(row.text, row.stamp[:-8] + "Z" if row.stamp.endswith(whole_second) else row.stamp,
             row.author__username)
        for row in rows
    ]  # fmt: skip


_Row = namedtuple("_Row", ["text", "pub_date", "author__username"])


def _rfc3339(moment) -> str:
    text = moment.astimezone(dt.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def is_following(*, follower: User, followed: User) -> bool:
    return Follow.objects.filter(follower=follower, followed=followed).exists()


def followed_usernames(*, user_id: int, limit: int) -> list[str]:
    """Names of the active users the user `user_id` follows, in the order they were
    followed; deactivated users are left out, as everywhere else in public."""
    return list(
        Follow.objects.filter(follower_id=user_id, followed__is_active=True)
        .order_by("id")
        .values_list("followed__username", flat=True)[:limit]
    )


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

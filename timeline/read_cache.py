"""A short shared cache of the reads every visitor sees alike: the public timeline and
profiles as an anonymous visitor gets them, and the simulator API's message and follow
lists.

Why: at a million messages, rendering /public costs about 50 times what the server's
floor (/health) does, and the same page is rendered again for every visitor
(docs/performance.md, "The read cache"). The cache is Django's cache framework, alias
`reads` (settings.CACHES), on Redis in production so that every worker of every replica
shares one copy and one invalidation; without CACHE_URL it is Django's DummyCache and
every read is computed.

Correctness: every entry is stored with the *generation* numbers, kept in the cache
itself, of the topics it was computed from (messages, follows), and is served only while
they are current. Every write that can change a cached read bumps its topic's number
(`invalidate`, again after the write's transaction commits), so the next read computes
afresh: a posted message shows on /public at once, a flagged one disappears at once, on
every replica. An entry computed from data read before a commit carries the generation it
started with, which the bump has already retired, so a stale entry is never served after
its invalidation. Entries also
expire after READ_CACHE_SECONDS, which bounds how old "3 minutes ago" can get.

If the cache server fails, reads are computed as if nothing were cached, and the cache
is not asked again for FAIL_FAST_SECONDS; a bump lost in such a failure leaves entries
at most READ_CACHE_SECONDS old.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.db import transaction
from prometheus_client import Counter
from redis import RedisError

T = TypeVar("T")

logger = logging.getLogger("minitwit.read_cache")

ALIAS = "reads"
# What a cached read can depend on. Each topic has its own generation number, so that a
# follow (over half of the simulator's writes) does not retire the message lists and pages.
MESSAGES = "messages"
FOLLOWS = "follows"
TOPICS = (MESSAGES, FOLLOWS)
FAIL_FAST_SECONDS = 2.0
# What a failing cache server raises through Django's RedisCache: redis-py's errors, and
# the OSError of a socket that cannot connect.
_FAILURES = (RedisError, OSError)
_failing_until = 0.0


def _generation_key(topic: str) -> str:
    return f"generation:{topic}"


LOOKUPS = Counter(
    "minitwit_read_cache_lookups",
    "Read cache lookups by result: hit (served from the cache), miss (computed and kept), "
    "skipped (computed while the cache server is failing or was just found failing).",
    ["result"],
)
for _result in ("hit", "miss", "skipped"):
    LOOKUPS.labels(result=_result)


def _usable() -> bool:
    return time.monotonic() >= _failing_until


def _failed(action: str, error: Exception) -> None:
    global _failing_until
    _failing_until = time.monotonic() + FAIL_FAST_SECONDS
    logger.warning(
        "read cache unavailable (%s: %s); computing reads for %g s",
        action,
        error,
        FAIL_FAST_SECONDS,
    )


def get_or_compute(
    key: str,
    compute: Callable[[], T],
    *,
    topics: tuple[str, ...],
    cacheable: Callable[[T], bool] = lambda _: True,
) -> T:
    """The cached value for `key` (a short text naming the read, such as a path), or
    `compute()`'s result, stored for READ_CACHE_SECONDS when `cacheable(result)` says so.

    `topics` (MESSAGES, FOLLOWS) are what the value is computed from: a write to any of them
    retires it. `key` must name everything else it depends on, and the value's form: old
    and new replicas share the cache during a rolling update, so a caller that changes
    what it stores must change its keys too. Values are pickled. Never
    raises for the cache's own failures: the read is then simply computed.
    """
    cache = caches[ALIAS]
    if isinstance(cache, DummyCache):
        # No CACHE_URL: nothing is cached, so there is nothing to look up or to count.
        return compute()
    if not _usable():
        LOOKUPS.labels(result="skipped").inc()
        return compute()
    generation_keys = [_generation_key(topic) for topic in topics]
    # Hashed: keys hold user-given text (a path, a username), which may be long or carry
    # characters that Django's key check warns about.
    entry_key = (
        "read:" + hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    )
    try:
        # One round trip: the topics' generations and the entry, which is stored with the
        # generations it was computed under and is valid only while they are current.
        found = cache.get_many([*generation_keys, entry_key])
    except _FAILURES as error:
        _failed("get", error)
        LOOKUPS.labels(result="skipped").inc()
        return compute()
    generations = tuple(found.get(generation_key, 0) for generation_key in generation_keys)
    entry = found.get(entry_key)
    if entry is not None and entry[0] == generations:
        LOOKUPS.labels(result="hit").inc()
        return entry[1]
    LOOKUPS.labels(result="miss").inc()
    value = compute()
    if cacheable(value):
        try:
            cache.set(entry_key, (generations, value), timeout=settings.READ_CACHE_SECONDS)
        except _FAILURES as error:
            _failed("set", error)
    return value


def invalidate(*topics: str) -> None:
    """Retire every cached read computed from `topics` (all of them when none is named).
    Call it after any write that can change what a cached read shows.

    Inside a transaction it retires them twice: now, so that this transaction's own later
    reads (and a test's, which never commits) see the write, and again once it commits,
    which retires whatever others read and cached from the data before the commit.
    """
    topics = topics or TOPICS
    if transaction.get_connection().in_atomic_block:
        _bump(topics)
    transaction.on_commit(lambda: _bump(topics), robust=True)


def _bump(topics: tuple[str, ...]) -> None:
    cache = caches[ALIAS]
    if isinstance(cache, DummyCache) or not _usable():
        return
    for topic in topics:
        key = _generation_key(topic)
        try:
            # Atomic on Redis, so concurrent bumps from several replicas all count.
            cache.incr(key)
        except ValueError:
            # No counter yet (a fresh or restarted server): a value never used before
            # retires whatever was cached under the missing counter's 0.
            try:
                cache.set(key, time.time_ns(), timeout=None)
            except _FAILURES as error:
                _failed("invalidate", error)
                return
        except _FAILURES as error:
            _failed("invalidate", error)
            return


def topics_of(model) -> tuple[str, ...]:
    """What a write to `model`'s table can change: a user's name and state show in every
    read, a message only in message reads, a follow only in follow lists."""
    from .models import Follow, Message

    return {Message: (MESSAGES,), Follow: (FOLLOWS,)}.get(model, TOPICS)


def _model_changed(sender, instance=None, update_fields=None, **kwargs) -> None:
    # Signing in saves the user's last_login only, which no cached read shows.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    invalidate(*topics_of(sender))


def connect_model_signals() -> None:
    """Retire the cache on every ORM save and delete of a user, message or follow: the
    admin's forms and deletes, sign-up. (Bulk updates and the raw statements send no
    signal; services.py and bulk.py invalidate for those.)"""
    from django.db.models.signals import post_delete, post_save

    from .models import Follow, Message, User

    for model in (User, Message, Follow):
        for signal in (post_save, post_delete):
            uid = f"read_cache_{model.__name__}"
            signal.connect(_model_changed, sender=model, dispatch_uid=uid)

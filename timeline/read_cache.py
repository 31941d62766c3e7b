"""A short shared cache of the reads every visitor sees alike: the public timeline and
profiles as an anonymous visitor gets them, and the simulator API's message and follow
lists.

Why: at a million messages, rendering /public costs about 50 times what the server's
floor (/health) does, and the same page is rendered again for every visitor
(docs/performance.md, "The read cache"). The cache is Django's cache framework, alias
`reads` (settings.CACHES), on Redis in production so that every worker of every replica
shares one copy and one invalidation; without CACHE_URL it is Django's DummyCache and
every read is computed.

Correctness: every entry's key carries a *generation* number kept in the cache itself.
Every write that can change a cached read bumps it (`invalidate`, after the write's
transaction commits), so the next read computes afresh: a posted message shows on /public
at once, a flagged one disappears at once, on every replica. An entry computed from data
read before a commit is stored under the generation it started with, which the bump has
already retired, so a stale entry is never served after its invalidation. Entries also
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
from django.db import transaction
from redis import RedisError

T = TypeVar("T")

logger = logging.getLogger("minitwit.read_cache")

ALIAS = "reads"
GENERATION_KEY = "generation"
FAIL_FAST_SECONDS = 2.0
# What a failing cache server raises through Django's RedisCache: redis-py's errors, and
# the OSError of a socket that cannot connect.
_FAILURES = (RedisError, OSError)
_failing_until = 0.0


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
    key: str, compute: Callable[[], T], *, cacheable: Callable[[T], bool] = lambda _: True
) -> T:
    """The cached value for `key` (a short text naming the read, such as a path), or
    `compute()`'s result, stored for READ_CACHE_SECONDS when `cacheable(result)` says so.

    Values are pickled. Never raises for the cache's own failures: the read is then simply
    computed. `key` must name everything the value depends on besides the stored data.
    """
    if not _usable():
        return compute()
    cache = caches[ALIAS]
    try:
        generation = cache.get(GENERATION_KEY, 0)
        # Hashed: keys hold user-given text (a path, a username), which may be long or
        # carry characters that Django's key check warns about.
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16)
        full_key = f"{generation}:{digest.hexdigest()}"
        found = cache.get(full_key)
    except _FAILURES as error:
        _failed("get", error)
        return compute()
    if found is not None:
        return found
    value = compute()
    if cacheable(value):
        try:
            cache.set(full_key, value, timeout=settings.READ_CACHE_SECONDS)
        except _FAILURES as error:
            _failed("set", error)
    return value


def invalidate() -> None:
    """Retire every cached read. Call it after any write that can change what a cached
    read shows: messages, users, follows.

    Inside a transaction it retires them twice: now, so that this transaction's own later
    reads (and a test's, which never commits) see the write, and again once it commits,
    which retires whatever others read and cached from the data before the commit.
    """
    if transaction.get_connection().in_atomic_block:
        _bump()
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    if not _usable():
        return
    cache = caches[ALIAS]
    try:
        # add() creates the counter only if it is missing (a fresh or restarted server);
        # incr() is atomic on Redis, so concurrent bumps from several replicas all count.
        cache.add(GENERATION_KEY, 0, timeout=None)
        cache.incr(GENERATION_KEY)
    except ValueError:
        # The counter vanished between add() and incr() (evicted, or a restarted server):
        # any value not used before retires the old entries.
        try:
            cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
        except _FAILURES as error:
            _failed("invalidate", error)
    except _FAILURES as error:
        _failed("invalidate", error)


def _model_changed(sender, instance=None, update_fields=None, **kwargs) -> None:
    # Signing in saves the user's last_login only, which no cached read shows.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    invalidate()


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

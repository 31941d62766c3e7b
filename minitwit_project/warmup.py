"""The work a web worker does once, before it accepts its first request.

Django builds much of itself on first use: the URL resolver, each template (compiled into
the cached loader), the database connection, the password hasher's module. A new worker
paid for all of it inside its first requests: a first simulator registration took 145 ms
against 50 ms for the next ones, and a first /public 48 ms against 8 ms. After a deploy or
a restart, several workers meeting the simulator's first requests at once then ran past its
300 ms timeout, and a registration the simulator gave up on turned its next requests for
that user into 404s (benchmarks/bench.py, the 8-client run, first failures). gunicorn's
post_worker_init hook (gunicorn.conf.py) calls `warm_up()` before the worker is handed a
connection, so that cost is paid where nobody waits for it.
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.db import DatabaseError, connection
from django.template import engines
from django.template.loader import get_template
from django.urls import resolve, reverse

from simapi import views as simapi_views
from timeline import selectors
from timeline.usernames import confusable_key

logger = logging.getLogger("minitwit.warmup")


def warm_up() -> float:
    """Build what the first requests would otherwise build; returns the seconds it took.

    Never raises: a step that fails (the database may still be starting) is logged and left
    to the first request that needs it, as before; a warm-up must never keep a worker from
    serving.
    """
    started = time.perf_counter()
    for name, step in (
        ("URL resolver", _urls),
        ("templates", _templates),
        ("database connection and queries", _database),
        ("password hasher", _hasher),
        ("username skeletons", lambda: confusable_key("warm-up")),
        ("simulator API validators", simapi_views.warm_up),
    ):
        try:
            step()
        except DatabaseError as error:
            logger.info("warm-up: %s skipped (%s)", name, error)
        except Exception:
            logger.warning("warm-up: %s failed", name, exc_info=True)
    seconds = time.perf_counter() - started
    logger.info("warm-up done in %.0f ms", seconds * 1000)
    return seconds


def _urls() -> None:
    resolve("/public")
    reverse("timeline:public")


def _templates() -> None:
    # Every template of the site's own; the admin's are left to staff's first visit.
    for directory in engines["django"].dirs:
        root = Path(directory)
        for path in sorted(root.glob("**/*.html")):
            name = path.relative_to(root).as_posix()
            if not name.startswith("admin/"):
                get_template(name)


def _database() -> None:
    connection.ensure_connection()
    selectors.user_ids_by_name(usernames=["warm-up"])
    selectors.public_timeline(per_page=settings.MESSAGES_PER_PAGE)


def _hasher() -> None:
    hasher = get_hasher()
    hasher.encode("warm-up", hasher.salt())

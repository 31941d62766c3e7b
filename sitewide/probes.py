"""/health and /ready: the container healthcheck's and the load balancer's questions.

/health asks "is this process alive and serving?" and does no database work, so a
database outage does not make Swarm kill and restart every replica in a loop. /ready asks
"can this replica do useful work?": the database answers and every migration of this
code is applied. Both are served by ProbeMiddleware (see sitewide/middleware.py).
"""

import logging
from http import HTTPStatus

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger("minitwit.probes")

# Migrations are never un-applied under a running process, so once the plan is empty it
# stays empty; this saves building the migration graph on every probe.
_migrations_applied = False


def _only_get(request: HttpRequest) -> JsonResponse | None:
    if request.method in ("GET", "HEAD"):
        return None
    response = JsonResponse(
        {"status": "error", "reason": "use GET"}, status=HTTPStatus.METHOD_NOT_ALLOWED
    )
    response.headers["Allow"] = "GET, HEAD"
    return response


def health(request: HttpRequest) -> JsonResponse:
    """200 {"status": "ok"} while the process serves requests."""
    return _only_get(request) or JsonResponse({"status": "ok"})


def _unapplied_migration_count() -> int:
    global _migrations_applied
    if _migrations_applied:
        return 0
    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_applied = pending == 0
    return pending


def ready(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and has every migration; 503 with a reason if not."""
    refused = _only_get(request)
    if refused:
        return refused
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = _unapplied_migration_count()
    except DatabaseError as exc:
        logger.warning("not ready: database unreachable: %s", exc)
        # The class name only: the message can name hosts and users.
        return _unavailable(f"database unreachable ({type(exc).__name__})")
    if pending:
        logger.warning("not ready: %d unapplied migrations", pending)
        return _unavailable(f"{pending} unapplied migration(s); run manage.py migrate")
    return JsonResponse({"status": "ready"})


def _unavailable(reason: str) -> JsonResponse:
    return JsonResponse(
        {"status": "unavailable", "reason": reason}, status=HTTPStatus.SERVICE_UNAVAILABLE
    )

"""MiniTwit's PostgreSQL engine: django-prometheus' instrumented backend, with a health check
that costs no round trip.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first query of every request that
reuses a persistent connection: a round trip to the server, and a statement through the
cursor and its metrics, on every simulator request. The failure it exists for is a
connection the server has ended (a restart, `pg_terminate_backend`, an idle timeout). The
server then says so on the socket (an error message, then end of file), so an idle
connection with something to read is a dead one, and an idle healthy one has nothing to
read. This checks that without sending anything. A connection that dies silently (a
firewall dropping it) is not caught here, as it is not by `SELECT 1` before its timeout
either: the stack reaches the database by DNS round robin, never through a virtual IP
that drops idle connections (docs/operations.md).

It also bounds how long a request waits for an answer on an open connection. The server's
statement_timeout cannot do that when the server itself is stuck (its processes stopped, a
VM paused): the kernel still acknowledges every packet, so neither TCP keepalives nor
tcp_user_timeout notice, and libpq would wait forever. `BoundedConnection` gives each wait
a deadline instead; the connection is then closed, never reused, and the request gets the
OperationalError that becomes a 503 (minitwit_project/errors.py).
"""

import select
import time

import psycopg
from django.conf import settings
from django_prometheus.db.backends.postgresql import base
from psycopg import errors, pq

# After a failed connect or a hung query, this process answers "unavailable" at once for
# this long instead of letting every request wait out its own timeout: with sync workers a
# request would otherwise also wait for the requests queued before it (measured under a
# frozen server: 5.6 s at the client with 2 s server-side bounds). libpq's connect
# timeout is 2 s at least, so this keeps a worker blocked at most half the time, and a
# database that is back is used again within this long.
FAIL_FAST_SECONDS = 2.0
_failing_until = 0.0


def _mark_failing() -> None:
    global _failing_until
    _failing_until = time.monotonic() + FAIL_FAST_SECONDS


# How much longer than the server's own statement_timeout the client waits before it gives
# the server up as hung: room for the network and a commit's flush to disk.
RESPONSE_MARGIN_SECONDS = 1.0


def response_timeout() -> float | None:
    """Seconds a query may wait for the server's answer, or None (no bound) when
    DB_STATEMENT_TIMEOUT is 0, as for operator commands."""
    statement_ms = getattr(settings, "DB_STATEMENT_TIMEOUT", 0)
    if not statement_ms:
        return None
    return statement_ms / 1000 + RESPONSE_MARGIN_SECONDS


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server ends after `response_timeout`
    seconds with psycopg.OperationalError, leaving the connection closed."""

    response_timeout: float | None = None

    def wait(self, gen, interval=0.1, timeout=None):
        if timeout is None:
            timeout = self.response_timeout
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except errors._WaitTimeout:
            # Mid-query, the connection is unusable: close it so nothing reuses it.
            self.pgconn.finish()
            _mark_failing()
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s (hung server?)"
            ) from None


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper; declared for the type checker (django-prometheus'
    # base class is untyped).
    health_check_done: bool

    def get_new_connection(self, conn_params):
        if time.monotonic() < _failing_until:
            raise psycopg.OperationalError(
                f"the database failed less than {FAIL_FAST_SECONDS:g} s ago; not retrying yet"
            )
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError:
            _mark_failing()
            raise
        # psycopg creates the object; the subclass only adds the deadline to wait().
        connection.__class__ = BoundedConnection
        connection.response_timeout = response_timeout()
        return connection

    def close_if_health_check_failed(self):
        """Close a reused connection that is no longer usable (called before a request's
        first query when CONN_HEALTH_CHECKS is on)."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self._looks_alive():
            self.close()
        self.health_check_done = True

    def _looks_alive(self) -> bool:
        connection = self.connection
        pgconn = connection.pgconn
        if connection.closed or pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            # Between requests a connection is idle; anything else is left-over state.
            return False
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)

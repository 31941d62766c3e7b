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
"""

import select

from django_prometheus.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
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

"""The site's business gauges on /metrics: users, messages, follows and the database's
size, read from the database by the scraping worker (listed in settings.METRICS_COLLECTORS;
sitewide/metrics.py serves them)."""

import logging

from django.db import DatabaseError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import selectors

logger = logging.getLogger("minitwit.metrics")


class SiteCollector:
    """Business gauges, computed in the scraping process from the database."""

    def describe(self):
        # Registering a collector without describe() would run collect(), i.e. queries.
        return []

    def collect(self):
        database_up = GaugeMetricFamily(
            "minitwit_database_up",
            "1 if the scrape-time queries against the database succeeded, 0 if they failed.",
        )
        try:
            totals = selectors.site_totals()
        except DatabaseError as exc:
            logger.warning("metrics: database query failed: %s", exc)
            database_up.add_metric([], 0)
            yield database_up
            return
        database_up.add_metric([], 1)
        yield database_up
        estimate = " (PostgreSQL: statistics estimate, see docs/monitoring.md)"
        yield GaugeMetricFamily("minitwit_users", "Registered users" + estimate, value=totals.users)
        yield GaugeMetricFamily(
            "minitwit_messages", "Messages stored" + estimate, value=totals.messages
        )
        yield GaugeMetricFamily(
            "minitwit_follows", "Follow relations" + estimate, value=totals.follows
        )
        yield CounterMetricFamily(
            "minitwit_messages_posted",
            "Messages ever posted (the highest message id; exact).",
            value=totals.messages_posted,
        )
        if totals.database_bytes is not None:
            yield GaugeMetricFamily(
                "minitwit_database_size_bytes",
                "Size of the database on disk.",
                value=totals.database_bytes,
            )

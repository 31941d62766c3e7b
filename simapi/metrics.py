"""The simulator's metrics on /metrics: its requests by endpoint, and its `latest` counter.

SIMULATOR_REQUESTS is counted by SimulatorTrafficMiddleware (simapi/middleware.py); the
counter's gauge is read from the database at scrape time (LatestCounterCollector, listed
in settings.METRICS_COLLECTORS).
"""

import logging

from django.db import DatabaseError
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from .latest_counter import latest_counter_value

logger = logging.getLogger("minitwit.metrics")

SIMULATOR_REQUESTS = Counter(
    "minitwit_simulator_requests",
    "Simulator API requests by endpoint (URL name), method and response status code.",
    ["endpoint", "method", "status"],
)


class LatestCounterCollector:
    """The simulator's `latest` counter as a gauge, read by the scraping process."""

    def describe(self):
        # Registering a collector without describe() would run collect(), i.e. a query.
        return []

    def collect(self):
        try:
            value = latest_counter_value()
        except DatabaseError as exc:
            # minitwit_database_up (timeline/metrics.py) reports the outage.
            logger.warning("metrics: database query failed: %s", exc)
            return
        yield GaugeMetricFamily(
            "minitwit_simulator_latest",
            "The last `latest` value the simulator sent (-1 before any).",
            value=value,
        )

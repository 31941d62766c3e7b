"""What a /metrics scrape costs, and why the business gauges use statistics, not COUNT(*).

Fills the database named by DATABASE_URL (PostgreSQL, meant for a scratch database) up to
the given number of messages, then times the scrape-time query (site_totals), exact
COUNT(*)s of the same tables, and a whole /metrics rendering.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch \
    .venv/bin/python benchmarks/metrics_scrape.py [messages] [rounds]
"""

import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from sitewide.metrics import render_metrics  # noqa: E402
from timeline import selectors  # noqa: E402
from timeline.models import Follow, Message, User  # noqa: E402


def fill(messages: int) -> None:
    """Users, messages and follows in the proportions of the course simulator's data."""
    users = max(messages // 20, 10)
    follows = messages // 5
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO minitwit_user (username, email, password, is_active, is_staff,
                                       is_superuser, date_joined)
            SELECT 'bench ' || n, 'bench' || n || '@example.com', '!', true, false, false, now()
            FROM generate_series(%s, %s) AS n
            """,
            [User.objects.count() + 1, users],
        )
        cursor.execute("SELECT min(id), max(id) FROM minitwit_user")
        low, high = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO minitwit_message (author_id, text, pub_date, flagged)
            SELECT %s + (n %% (%s - %s + 1)), 'benchmark message ' || n,
                   now() - n * interval '1 second', false
            FROM generate_series(%s, %s) AS n
            """,
            [low, high, low, Message.objects.count() + 1, messages],
        )
        cursor.execute(
            """
            INSERT INTO minitwit_follow (follower_id, followed_id, created)
            SELECT %(low)s + n %% %(users)s,
                   %(low)s + (n %% %(users)s + 1 + n / %(users)s) %% %(users)s, now()
            FROM generate_series(1, %(follows)s) AS n
            ON CONFLICT DO NOTHING
            """,
            {"low": low, "users": high - low + 1, "follows": follows},
        )
        cursor.execute("ANALYZE minitwit_user, minitwit_message, minitwit_follow")


def timed(function, rounds: int) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), max(timings)


def exact_counts():
    return User.objects.count(), Message.objects.count(), Follow.objects.count()


def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at a scratch PostgreSQL database.")
    call_command("migrate", verbosity=0)
    if Message.objects.count() < target:
        start = time.perf_counter()
        fill(target)
        print(f"filled to {target:,} messages in {time.perf_counter() - start:.1f} s")
    totals = selectors.site_totals()
    exact = exact_counts()
    gauges = (totals.users, totals.messages, totals.follows)
    print(f"rows (users, messages, follows): exact {exact}, gauges {gauges}")
    print(f"{'what':44} {'median ms':>10} {'max ms':>10}")
    for name, function, n in [
        ("site_totals() (statistics + max(id))", selectors.site_totals, rounds),
        ("exact COUNT(*) of the three tables", exact_counts, max(rounds // 4, 3)),
        ("whole /metrics rendering", render_metrics, rounds),
    ]:
        median, worst = timed(function, n)
        print(f"{name:44} {median:10.2f} {worst:10.2f}")


if __name__ == "__main__":
    main()

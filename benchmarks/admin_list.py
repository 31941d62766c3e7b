"""Queries and time per admin list page against a populated database.

Fill a database first, then point this script at it:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minitwit_big \\
        .venv/bin/python manage.py generate_data --users 100000 --messages 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minitwit_big \\
        .venv/bin/python benchmarks/admin_list.py [repeats]

Each page is fetched through Django's test client as a signed-in superuser (a temporary
account, removed at the end): the whole request, middleware and template included.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from timeline.models import Follow, Message, User  # noqa: E402

ADMIN = "/" + settings.ADMIN_PATH


def measure(client: Client, url: str, repeats: int) -> tuple[int, float, float, float]:
    """(queries, median ms, max ms, slowest single query ms) for GET url."""
    response = client.get(url)  # warm caches: we measure plans, not the first disk read
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    samples, slowest = [], 0.0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
        slowest = max(slowest, *(float(q["time"]) * 1000 for q in queries.captured_queries))
    return len(queries.captured_queries), statistics.median(samples), max(samples), slowest


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    # The test client's host; setup_test_environment() would also instrument template
    # rendering, which slows the very thing measured.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(
        f"users {User.objects.count():,}  messages {Message.objects.count():,}  "
        f"follows {Follow.objects.count():,}  (repeats {repeats})"
    )
    busiest = (
        Message.objects.values_list("author", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    popular = (
        Follow.objects.values_list("followed", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    busiest_name = User.objects.get(pk=busiest).username if busiest else "nobody"
    pages = [
        ("messages, page 1", "timeline/message/"),
        ("messages, page 50", "timeline/message/?p=50"),
        ("messages, flagged only", "timeline/message/?flagged__exact=1"),
        ("messages, not flagged", "timeline/message/?flagged__exact=0"),
        ("messages, past 7 days", "timeline/message/?pub_date__gte=" + _days_ago(7)),
        ("messages, search 'docker deploy'", "timeline/message/?q=docker+deploy"),
        ("messages, search busiest author", f"timeline/message/?q={busiest_name}"),
        ("messages of busiest author", f"timeline/message/?author__id__exact={busiest}"),
        ("users, page 1", "timeline/user/"),
        ("users, search 'jensen'", "timeline/user/?q=jensen"),
        ("users, inactive only", "timeline/user/?is_active__exact=0"),
        ("user page of most followed", f"timeline/user/{popular}/change/"),
        ("follows, page 1", "timeline/follow/"),
        ("followers of most followed", f"timeline/follow/?followed__id__exact={popular}"),
    ]
    admin = User.objects.create_superuser("benchmark-admin", password=None)
    try:
        client = Client()
        client.force_login(admin)
        print(f"{'page':38s} {'queries':>7s} {'median':>10s} {'max':>10s} {'slowest query':>14s}")
        for label, path in pages:
            count, median, worst, slowest = measure(client, ADMIN + path, repeats)
            print(f"{label:38s} {count:7d} {median:7.1f} ms {worst:7.1f} ms {slowest:11.1f} ms")
    finally:
        admin.delete()


def _days_ago(days: int) -> str:
    return (timezone.now() - timedelta(days=days)).isoformat().replace("+", "%2B")


if __name__ == "__main__":
    main()

"""Time the three timeline selectors against a populated database.

Fill a database first (e.g. `manage.py generate_data` into PostgreSQL), then:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minitwit_big \\
        .venv/bin/python benchmarks/timeline_queries.py [repeats]

Users are sampled by how many messages their followed authors have, since that is what
decides which index the personal timeline can use.
"""

import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from timeline import selectors  # noqa: E402
from timeline.models import Follow, Message, User  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, int]:
    fn()  # warm the cache: we measure query plans, not the first disk read
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(
        f"users {User.objects.count():,}  messages {Message.objects.count():,}  "
        f"follows {Follow.objects.count():,}"
    )
    followers = (
        Follow.objects.values("follower").annotate(n=Count("id")).order_by("-n").first() or {}
    )
    busiest_author = (
        Message.objects.values("author").annotate(n=Count("id")).order_by("-n").first() or {}
    )
    quiet_follower = (
        Follow.objects.order_by("-followed_id").values_list("follower", flat=True).first()
    )
    cases = [
        ("public timeline, page 1", lambda: selectors.public_timeline(per_page=30)),
        ("public timeline, page 100", lambda: selectors.public_timeline(page=100, per_page=30)),
    ]
    for label, user_id in [
        ("busiest author", busiest_author.get("author")),
        ("user following the most", followers.get("follower")),
        ("user following quiet authors", quiet_follower),
    ]:
        if user_id is None:
            continue
        user = User.objects.get(pk=user_id)
        cases.append(
            (f"profile of {label}", lambda u=user: selectors.user_timeline(user=u, per_page=30))
        )
        cases.append(
            (
                f"personal timeline of {label}",
                lambda u=user: selectors.personal_timeline(user=u, per_page=30),
            )
        )
    for label, fn in cases:
        median, worst = timed(fn, repeats)
        print(f"{label:45s} median {median:7.2f} ms   max {worst:7.2f} ms")


if __name__ == "__main__":
    main()

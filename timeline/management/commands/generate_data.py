"""manage.py generate_data: realistic synthetic users, follows and messages, in bulk."""

import datetime as dt
import itertools
import random
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction
from django.utils import timezone

from timeline import bulk
from timeline.models import Follow, Message, User
from timeline.progress import Progress
from timeline.usernames import confusable_key

# Every generated account signs in with this password (see docs/operations-commands.md).
DEV_PASSWORD = "minitwit-dev"

# Popularity follows a Zipf law: the user of rank r is followed in proportion to 1/r**s.
# With s = 1 and 10 follows per user on average, the most popular of 100,000 users gets
# ~47,000 followers and the median user 2; posting activity is skewed a little less.
FOLLOW_ZIPF_EXPONENT = 1.0
POSTING_ZIPF_EXPONENT = 0.8


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Ada Alan Alice Amir Anna Astrid Ben Bjørn Carla Chen Dana David Elif Emil Emma Eva "
    "Farah Finn Grace Hana Hugo Ida Ingrid Isak Jakob Jens Jonas Julia Kaja Karl Lars "
    "Laura Leo Lina Linus Lucas Maja Malik Marie Mateo Mia Mikkel Nadia Nils Noah Nora "
    "Olga Oskar Pia Priya Rasmus Rosa Sara Sofie Søren Tariq Thea Tobias Uma Viktor Wei "
    "Yusuf Zoë Åse"
)
LAST_NAMES = _words(
    "Andersen Berg Bauer Christensen Dahl Eriksen Fischer García Hansen Holm Iversen "
    "Jensen Jørgensen Kim Kowalski Larsen Lund Madsen Møller Nielsen Novak Olsen Petersen "
    "Poulsen Quist Rasmussen Schmidt Silva Sørensen Thomsen Wang Weber Yilmaz Østergaard"
)
WORDS = _words(
    "the a and of to in is it that was for on are with as I his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them "
    "write would like so these her long make thing see him two has look more day could "
    "go come did number sound no most people my over know water than call first who may "
    "down side been now find any new work part take get place made live where after back "
    "little only round man year came show every good me give our under name very through "
    "just form sentence great think say help low line differ turn cause much mean before "
    "move right boy old too same tell does set three want air well also play small end "
    "put home read hand port large spell add even land here must big high such follow "
    "act why ask men change went light kind off need house picture try us again animal "
    "point mother world near build self earth father devops docker deploy pipeline "
    "monitoring logging minitwit simulator database release"
)


class Command(BaseCommand):
    help = (
        "Fill the database with synthetic users, follows and messages for development and "
        "benchmarks: skewed popularity (a few users followed by many), messages spread over "
        f"time, bulk inserts (COPY on PostgreSQL). Every generated user's password is "
        f"{DEV_PASSWORD!r} unless --password says otherwise. All or nothing: a failure or "
        "Ctrl-C leaves the database as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000, help="users to create (1000)")
        parser.add_argument(
            "--messages", type=int, default=10_000, help="messages to create (10000)"
        )
        parser.add_argument(
            "--follows-per-user",
            type=float,
            default=10.0,
            help="average number of users each new user follows (10)",
        )
        parser.add_argument(
            "--days", type=int, default=365, help="spread messages over the last N days (365)"
        )
        parser.add_argument(
            "--flagged-ratio",
            type=float,
            default=0.001,
            help="share of messages created flagged, for moderation views (0.001)",
        )
        parser.add_argument("--seed", type=int, help="random seed, for a reproducible data set")
        parser.add_argument("--batch-size", type=int, default=10_000, help="rows per batch (10000)")
        parser.add_argument(
            "--password",
            default=DEV_PASSWORD,
            help=f"the password every generated user shares ({DEV_PASSWORD!r})",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="run even with MINITWIT_ENV=production (the accounts share a known password)",
        )

    def handle(self, *args, **options):
        n_users, n_messages = options["users"], options["messages"]
        follows_per_user = options["follows_per_user"]
        self._check_arguments(options)
        seed = options["seed"] if options["seed"] is not None else random.randrange(2**32)
        rng = random.Random(seed)
        batch_size = options["batch_size"]
        show_progress = options["verbosity"] > 0

        started = time.monotonic()
        # Hashing once and sharing the encoded string: Argon2 on 100,000 passwords would
        # take most of an hour, and these accounts are for development only.
        password_hash = make_password(options["password"])
        now = timezone.now()
        span = dt.timedelta(days=options["days"])
        try:
            with transaction.atomic():
                user_ids = bulk.reserve_ids(User, n_users)
                # Generators: each starts drawing from `rng` only when its table is written,
                # so a seed always gives the same data.
                tables = [
                    (User, USER_FIELDS, n_users, _users(rng, user_ids, password_hash, now - span)),
                    (
                        Follow,
                        FOLLOW_FIELDS,
                        int(n_users * follows_per_user) if n_users > 1 else 0,
                        _follows(rng, user_ids, follows_per_user, now=now, span=span),
                    ),
                    (
                        Message,
                        MESSAGE_FIELDS,
                        n_messages,
                        _messages(
                            rng,
                            user_ids,
                            n_messages,
                            now=now,
                            span=span,
                            flagged_ratio=options["flagged_ratio"],
                        ),
                    ),
                ]
                written = {}
                for model, fields, expected, rows in tables:
                    label = str(model._meta.verbose_name_plural)
                    with Progress(
                        label, total=expected, stream=self.stderr, enabled=show_progress
                    ) as bar:
                        written[model] = bulk.insert_rows(
                            model, fields, rows, batch_size=batch_size, on_batch=bar.advance
                        )
        except DatabaseError as exc:
            raise CommandError(
                f"Nothing was generated: the database refused the data: {exc}"
            ) from exc
        bulk.analyze([User, Follow, Message])
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Generated {n_users:,} users, {written[Follow]:,} follows and {n_messages:,} messages "
            f"in {elapsed:.1f} s (seed {seed})."
        )
        if n_users:
            self.stdout.write(
                f"Every generated user signs in with the password {options['password']!r}."
            )

    def _check_arguments(self, options):
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError(
                "Refusing to generate accounts that share a known password in production "
                "(MINITWIT_ENV=production); pass --allow-production if you really mean it."
            )
        for name in ("users", "messages", "days"):
            if options[name] < 0:
                raise CommandError(f"--{name} cannot be negative.")
        if options["follows_per_user"] < 0:
            raise CommandError("--follows-per-user cannot be negative.")
        if options["messages"] and not options["users"]:
            raise CommandError("Messages need authors: give --users 1 or more.")
        if not 0 <= options["flagged_ratio"] <= 1:
            raise CommandError("--flagged-ratio must be between 0 and 1.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not options["password"]:
            raise CommandError("--password cannot be empty.")


USER_FIELDS = [
    "id",
    "username",
    "email",
    "password",
    "is_active",
    "is_staff",
    "is_superuser",
    "date_joined",
    "confusable_key",
]
FOLLOW_FIELDS = ["follower_id", "followed_id", "created"]
MESSAGE_FIELDS = ["author_id", "text", "pub_date", "flagged"]


def _users(rng, user_ids, password_hash, joined_before):
    # The id in the name keeps names unique across runs without asking the database.
    for user_id in user_ids:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {user_id}"
        joined = joined_before - dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
        yield (
            user_id,
            name,
            f"user{user_id}@example.org",
            password_hash,
            True,
            False,
            False,
            joined,
            # The id in the name also gives every generated name a look of its own.
            confusable_key(name),
        )


def _zipf_cum_weights(count: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1 / rank**exponent for rank in range(1, count + 1)))


def _follows(rng, user_ids, per_user: float, *, now, span):
    if len(user_ids) < 2 or per_user <= 0:
        return
    by_popularity = list(user_ids)
    rng.shuffle(by_popularity)
    cum_weights = _zipf_cum_weights(len(by_popularity), FOLLOW_ZIPF_EXPONENT)
    most = len(user_ids) - 1
    for follower in user_ids:
        # How many people someone follows is skewed too: most follow a few, some many.
        wanted = min(most, int(rng.expovariate(1 / per_user) + 0.5))
        chosen: set[int] = set()
        for _ in range(4):  # popular users get drawn again and again; top up a few times
            missing = wanted - len(chosen)
            if missing <= 0:
                break
            chosen.update(rng.choices(by_popularity, cum_weights=cum_weights, k=missing))
            chosen.discard(follower)
        for followed in itertools.islice(chosen, wanted):
            yield (follower, followed, now - span * rng.random())


def _messages(rng, user_ids, count, *, now, span, flagged_ratio):
    if not count:
        return
    by_activity = list(user_ids)
    rng.shuffle(by_activity)
    cum_weights = _zipf_cum_weights(len(by_activity), POSTING_ZIPF_EXPONENT)
    start = now - span
    slot = span / count
    chunk = 10_000
    for offset in range(0, count, chunk):
        size = min(chunk, count - offset)
        authors = rng.choices(by_activity, cum_weights=cum_weights, k=size)
        for i, author in enumerate(authors, start=offset):
            # One random moment inside the i-th slot: evenly spread, and generated in
            # time order so ids follow pub_date as they do for real posts.
            pub_date = start + slot * (i + rng.random())
            words = rng.choices(WORDS, k=rng.randint(3, 24))
            text = " ".join(words).capitalize() + rng.choice(".!?")
            yield (author, text, pub_date, rng.random() < flagged_ratio)

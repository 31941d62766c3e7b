"""manage.py generate_data: synthetic data that looks like a real MiniTwit's."""

import datetime as dt
import statistics
from http import HTTPStatus

import pytest
from django.core.management import CommandError
from django.db import DatabaseError
from django.db.models import Count, F
from django.utils import timezone

from timeline import bulk
from timeline.management.commands.generate_data import DEV_PASSWORD
from timeline.models import Follow, Message, User

from .conftest import run_command
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def generate(*args) -> str:
    return run_command("generate_data", *args)[0]


def test_it_creates_the_requested_users_messages_and_about_the_requested_follows():
    out = generate("--users", 200, "--messages", 1500, "--follows-per-user", 5, "--seed", 7)
    assert User.objects.count() == 200
    assert Message.objects.count() == 1500
    assert 800 <= Follow.objects.count() <= 1200
    assert "Generated 200 users" in out and "1,500 messages" in out and "(seed 7)" in out
    assert f"password {DEV_PASSWORD!r}" in out


def test_a_few_users_are_followed_by_many_and_most_by_few():
    generate("--users", 400, "--messages", 0, "--follows-per-user", 10, "--seed", 1)
    followers = sorted(
        Follow.objects.values("followed").annotate(n=Count("id")).values_list("n", flat=True),
        reverse=True,
    )
    assert followers[0] >= 10 * statistics.median(followers)
    assert not Follow.objects.filter(follower=F("followed")).exists()


def test_messages_are_spread_over_the_period_with_ids_in_time_order():
    generate("--users", 20, "--messages", 500, "--days", 30, "--seed", 3)
    dates = list(Message.objects.order_by("id").values_list("pub_date", flat=True))
    assert dates == sorted(dates)
    now = timezone.now()
    assert dates[0] < now - dt.timedelta(days=28)
    assert now - dt.timedelta(days=2) < dates[-1] <= now
    authors = Message.objects.values("author").annotate(n=Count("id")).order_by("-n")
    assert authors[0]["n"] > 3 * authors[len(authors) // 2]["n"]  # a few post a lot


def test_every_generated_user_signs_in_with_the_documented_password(client):
    generate("--users", 3, "--messages", 5, "--seed", 5)
    user = User.objects.order_by("?").first()
    response = client.post("/login", {"username": user.username, "password": DEV_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert len(set(User.objects.values_list("password", flat=True))) == 1  # hashed once


def test_the_same_seed_gives_the_same_data():
    generate("--users", 30, "--messages", 100, "--seed", 11)
    first = list(Message.objects.order_by("id").values_list("text", flat=True))
    Message.objects.all().delete()
    User.objects.all().delete()
    generate("--users", 30, "--messages", 100, "--seed", 11)
    assert list(Message.objects.order_by("id").values_list("text", flat=True)) == first


def test_running_twice_adds_more_users_without_name_clashes():
    UserFactory(username="alice")
    generate("--users", 50, "--messages", 10, "--seed", 1)
    generate("--users", 50, "--messages", 10, "--seed", 1)
    assert User.objects.count() == 101
    assert Message.objects.count() == 20


def test_a_failure_leaves_the_database_as_it_was(monkeypatch):
    real_insert = bulk.insert_rows

    def failing_on_messages(model, *args, **kwargs):
        if model is Message:
            raise DatabaseError("disk full")
        return real_insert(model, *args, **kwargs)

    monkeypatch.setattr(bulk, "insert_rows", failing_on_messages)
    with pytest.raises(CommandError, match="Nothing was generated.*disk full"):
        generate("--users", 10, "--messages", 10)
    assert (User.objects.count(), Follow.objects.count()) == (0, 0)


def test_it_refuses_to_run_in_production_without_being_told(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="Refusing to generate accounts"):
        generate("--users", 2)
    assert User.objects.count() == 0
    generate("--users", 2, "--messages", 0, "--allow-production")
    assert User.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--users", -1], "--users cannot be negative"),
        (["--users", 0, "--messages", 5], "Messages need authors"),
        (["--flagged-ratio", 2], "--flagged-ratio must be between 0 and 1"),
        (["--batch-size", 0], "--batch-size must be at least 1"),
    ],
)
def test_impossible_arguments_are_refused(args, error):
    with pytest.raises(CommandError, match=error):
        generate(*args)
    assert User.objects.count() == 0

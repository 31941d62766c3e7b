"""The simulator's `latest` counter (simapi/latest_counter.py): what is recorded, when, and
in which transaction."""

import pytest
from django.db import connection

from simapi.latest_counter import (
    latest_counter_record,
    latest_counter_recorded_with_write,
    latest_counter_value,
)
from timeline import services
from timeline.models import Message
from timeline.services import ServiceError

pytestmark = pytest.mark.django_db


def test_latest_value_is_minus_one_until_the_simulator_sends_one():
    assert latest_counter_value() == -1
    latest_counter_record(value=0)
    assert latest_counter_value() == 0


def test_the_last_latest_recorded_wins():
    latest_counter_record(value=7)
    latest_counter_record(value=3)
    assert latest_counter_value() == 3


def test_latest_is_recorded_in_the_same_query_as_the_write(alice, django_assert_num_queries):
    with latest_counter_recorded_with_write() as pending:
        pending.value = 42
        # On SQLite the two statements are wrapped in SAVEPOINT / RELEASE; on PostgreSQL
        # they travel as one query string.
        with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
            services.message_create(author_id=alice.pk, text="hi")
        assert pending.recorded
    assert latest_counter_value() == 42
    assert Message.objects.get().text == "hi"


def test_only_the_first_write_records_latest(alice, bob):
    with latest_counter_recorded_with_write() as pending:
        pending.value = 5
        services.follow_create(follower_id=alice.pk, followed_id=bob.pk)
        latest_counter_record(value=6)  # a later write must not overwrite it with 5
        services.follow_delete(follower_id=alice.pk, followed_id=bob.pk)
    assert latest_counter_value() == 6


def test_latest_is_recorded_alone_when_the_request_writes_nothing():
    with latest_counter_recorded_with_write() as pending:
        pending.value = 9
    assert pending.recorded
    assert latest_counter_value() == 9


def test_without_a_value_nothing_is_recorded(alice):
    with latest_counter_recorded_with_write() as pending:
        services.message_create(author_id=alice.pk, text="hi")
    assert not pending.recorded
    assert latest_counter_value() == -1


def test_a_refused_write_leaves_latest_unrecorded(alice):
    with pytest.raises(ServiceError), latest_counter_recorded_with_write() as pending:
        pending.value = 11
        services.message_create(author_id=alice.pk, text="")
    assert latest_counter_value() == -1

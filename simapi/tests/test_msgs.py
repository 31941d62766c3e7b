import datetime as dt
from http import HTTPStatus

import pytest
from django.utils import timezone

from timeline.models import Message
from timeline.tests.factories import MessageFactory, UserFactory

from .conftest import assert_error

pytestmark = pytest.mark.django_db


def contents(response) -> list[str]:
    assert response.status_code == HTTPStatus.OK
    return [message["content"] for message in response.json()]


def test_messages_come_newest_first_with_author_and_date(sim, alice, bob):
    MessageFactory(author=alice, text="older", pub_date=timezone.now() - dt.timedelta(hours=1))
    MessageFactory(author=bob, text="newer", pub_date=timezone.now())
    body = sim.get("/msgs").json()
    assert [(m["content"], m["user"]) for m in body] == [("newer", "bob"), ("older", "alice")]
    assert set(body[0]) == {"content", "pub_date", "user"}


def test_pub_date_is_an_rfc3339_utc_timestamp(sim, alice):
    posted = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    MessageFactory(author=alice, pub_date=posted)
    assert sim.get("/msgs").json()[0]["pub_date"] == "2026-03-01T12:00:00.123456Z"


@pytest.mark.parametrize(
    ("microsecond", "written"),
    [(0, "2026-03-01T12:00:00Z"), (120000, "2026-03-01T12:00:00.120000Z"), (7, ".000007Z")],
)
def test_pub_date_reads_as_drf_writes_a_datetime(sim, alice, microsecond, written):
    # The database formats the time on PostgreSQL; it must match DRF's (isoformat) exactly.
    posted = dt.datetime(
        2026, 3, 1, 13, 0, 0, microsecond, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    MessageFactory(author=alice, pub_date=posted)
    assert sim.get("/msgs").json()[0]["pub_date"].endswith(written)
    assert sim.get("/msgs/alice").json()[0]["pub_date"].startswith("2026-03-01T12:00:00")


def test_messages_posted_in_the_same_instant_keep_posting_order(sim, alice):
    instant = timezone.now()
    for text in ["first", "second", "third"]:
        MessageFactory(author=alice, text=text, pub_date=instant)
    assert contents(sim.get("/msgs")) == ["third", "second", "first"]
    assert contents(sim.get("/msgs/alice")) == ["third", "second", "first"]


def test_messages_posted_through_the_api_in_one_second_keep_their_order(sim, alice):
    for text in ["one", "two", "three"]:
        sim.post("/msgs/alice", {"content": text})
    assert contents(sim.get("/msgs/alice")) == ["three", "two", "one"]


def test_flagged_messages_and_deactivated_authors_are_left_out(sim, alice, bob):
    MessageFactory(author=alice, text="fine")
    MessageFactory(author=alice, text="flagged", flagged=True)
    MessageFactory(author=UserFactory(is_active=False), text="banned")
    assert contents(sim.get("/msgs")) == ["fine"]
    assert contents(sim.get("/msgs/alice")) == ["fine"]


def test_the_default_is_100_messages(sim, alice):
    MessageFactory.create_batch(105, author=alice)
    assert len(sim.get("/msgs").json()) == 100
    assert len(sim.get("/msgs/alice").json()) == 100


def test_no_chooses_how_many(sim, alice):
    MessageFactory.create_batch(5, author=alice)
    assert len(sim.get("/msgs?no=3").json()) == 3
    assert len(sim.get("/msgs/alice?no=2").json()) == 2
    assert sim.get("/msgs?no=0").json() == []


def test_a_huge_no_is_capped(sim, alice, monkeypatch):
    monkeypatch.setattr("simapi.serializers.MAX_NO", 4)
    MessageFactory.create_batch(6, author=alice)
    assert len(sim.get("/msgs?no=99999999999999999999999999").json()) == 4
    assert len(sim.get("/msgs/alice?no=5").json()) == 4


def test_the_cap_is_large_enough_for_any_scenario_user(sim, alice):
    from simapi.serializers import MAX_NO

    # The course scenario's busiest user posts 769 messages; --verify reads them back.
    assert MAX_NO >= 1000
    MessageFactory.create_batch(1000, author=alice)
    assert len(sim.get("/msgs/alice?no=1000").json()) == 1000


def test_one_users_messages_are_only_theirs(sim, alice, bob):
    MessageFactory(author=alice, text="mine")
    MessageFactory(author=bob, text="theirs")
    assert contents(sim.get("/msgs/alice")) == ["mine"]


def test_an_unknown_user_has_no_messages_page(sim):
    assert_error(sim.get("/msgs/nobody"), HTTPStatus.NOT_FOUND)


def test_usernames_with_spaces_and_unicode_work_in_the_path(sim):
    UserFactory(username="Roger Histand")
    UserFactory(username="Ærø")
    assert sim.post("/msgs/Roger%20Histand", {"content": "hej"}).status_code == 204
    assert sim.post("/msgs/%C3%86r%C3%B8", {"content": "hej"}).status_code == 204
    assert contents(sim.get("/msgs/Roger%20Histand")) == ["hej"]


def test_posting_stores_the_text_exactly(sim, alice):
    text = "  “Quoted” <b>not bold</b> & tabs\tand\nnewlines  "
    response = sim.post("/msgs/alice", {"content": text})
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    message = Message.objects.get()
    assert (message.author, message.text) == (alice, text)
    assert contents(sim.get("/msgs/alice")) == [text]


def test_posting_as_an_unknown_user_is_a_404(sim):
    assert_error(sim.post("/msgs/nobody", {"content": "x"}), HTTPStatus.NOT_FOUND)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"content": ""}, "You have to enter a message"),
        ({"content": "   "}, "You have to enter a message"),
        ({"content": "x" * 1001}, "A message can be at most 1000 characters long"),
        ({"content": "bell\x07"}, "A message cannot contain control characters"),
        ({}, "content: This field is required."),
        ({"content": 42}, "content: Not a valid string."),
        ({"content": None}, "content: This field may not be null."),
    ],
)
def test_a_message_that_cannot_be_posted_is_a_400(sim, alice, body, message):
    assert_error(sim.post("/msgs/alice", body), HTTPStatus.BAD_REQUEST, message)
    assert not Message.objects.exists()


def test_a_1000_character_message_is_fine(sim, alice):
    assert sim.post("/msgs/alice", {"content": "x" * 1000}).status_code == 204


@pytest.mark.parametrize(
    "body", [{"content": ""}, {"content": "x" * 1001}, {"nothing": "here"}, {"content": "a\x00b"}]
)
def test_posting_a_bad_body_as_an_unknown_user_is_a_404_as_in_the_reference(sim, body):
    # The course's reference looks the user up before it reads the body.
    assert_error(sim.post("/msgs/nobody", body), HTTPStatus.NOT_FOUND)


def test_posting_a_bad_body_as_a_known_user_is_a_400_and_stores_nothing(sim, alice):
    assert_error(sim.post("/msgs/alice", {"content": ""}), HTTPStatus.BAD_REQUEST)
    assert not Message.objects.exists()

"""timeline.selectors on their own: the reads both the web pages and the simulator API show.

What a visitor or the simulator sees through them (pages, /msgs, /fllws) is tested at the
views; here each selector's contract is pinned down at its edges: impossible names (NUL, a
lone surrogate, too long), deactivated authors, flagged messages and page boundaries.
"""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from timeline import selectors, services
from timeline.models import Message, User
from timeline.selectors import PagePosition
from timeline.usernames import USERNAME_MAX_LENGTH, confusable_key

from .factories import FollowFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

IMPOSSIBLE_NAMES = ["", "nul\x00name", "lone\ud800surrogate", "n" * (USERNAME_MAX_LENGTH + 1)]
T = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)


def texts(page: selectors.MessagePage) -> list[str]:
    return [message.text for message in page.messages]


def posts(author: User, count: int, *, start: dt.datetime = T) -> list[Message]:
    """COUNT messages by AUTHOR a second apart from START, texts "0", "1", ... (oldest first)."""
    return [
        MessageFactory.create(author=author, text=str(n), pub_date=start + dt.timedelta(seconds=n))
        for n in range(count)
    ]


# Names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "a", "N" * USERNAME_MAX_LENGTH, "名前", "O'Brien"])
def test_any_allowed_name_could_be_a_username(name):
    assert selectors.could_be_username(name)


@pytest.mark.parametrize("name", [*IMPOSSIBLE_NAMES, None, 5, b"alice"])
def test_nul_surrogates_overlong_empty_and_non_text_could_not(name):
    assert not selectors.could_be_username(name)


def test_users_by_name_finds_exact_names_in_one_query(alice, bob, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = selectors.users_by_name(usernames=["alice", "bob", "Alice", "nobody"])
    assert found == {"alice": alice, "bob": bob}


def test_users_by_name_sends_no_impossible_name_to_the_database(alice, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.users_by_name(usernames=IMPOSSIBLE_NAMES) == {}
    with django_assert_num_queries(1):
        assert selectors.users_by_name(usernames=[*IMPOSSIBLE_NAMES, "alice"]) == {"alice": alice}


def test_users_by_name_leaves_out_deactivated_users_unless_asked(alice, gone):
    assert selectors.users_by_name(usernames=["alice", "gone"]) == {"alice": alice}
    everyone = selectors.users_by_name(usernames=["alice", "gone"], active_only=False)
    assert everyone == {"alice": alice, "gone": gone}


def test_user_ids_by_name_gives_active_users_ids(alice, bob, gone, django_assert_num_queries):
    with django_assert_num_queries(1):
        ids = selectors.user_ids_by_name(usernames=["alice", "bob", "gone", "nobody", "bob"])
    assert ids == {"alice": alice.pk, "bob": bob.pk}


def test_user_ids_by_name_sends_no_impossible_name_to_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.user_ids_by_name(usernames=IMPOSSIBLE_NAMES) == {}


def test_user_get_is_exact_and_hides_deactivated_users_unless_asked(alice, gone):
    assert selectors.user_get(username="alice") == alice
    assert selectors.user_get(username="ALICE") is None
    assert selectors.user_get(username="alice\x00") is None
    assert selectors.user_get(username="gone") is None
    assert selectors.user_get(username="gone", active_only=False) == gone


def test_name_in_use_tells_a_taken_name_from_a_look_alike(alice):
    assert selectors.name_in_use(username="alice", key=confusable_key("alice")) == (
        selectors.NameInUse(taken=True, alike=False)
    )
    cyrillic = "\u0430lice"  # "аlice" with a Cyrillic а
    assert selectors.name_in_use(username=cyrillic, key=confusable_key(cyrillic)) == (
        selectors.NameInUse(taken=False, alike=True)
    )
    assert selectors.name_in_use(username="carol", key=confusable_key("carol")) == (
        selectors.NameInUse(taken=False, alike=False)
    )


def test_a_deactivated_users_name_stays_in_use(gone):
    assert selectors.name_in_use(username="gone", key=confusable_key("gone")).taken


def test_name_in_use_with_a_nul_still_answers_for_its_look(alice):
    # The name itself cannot be stored, but its key can still match someone's.
    in_use = selectors.name_in_use(username="alice\x00", key=confusable_key("alice"))
    assert in_use == selectors.NameInUse(taken=False, alike=True)


def test_confusable_user_exists_can_leave_one_user_out(alice):
    key = confusable_key("alice")
    assert selectors.confusable_user_exists(key=key)
    assert not selectors.confusable_user_exists(key=key, other_than=alice)
    assert not selectors.confusable_user_exists(key=confusable_key("carol"))


# Timelines ---------------------------------------------------------------------------------


def test_the_public_timeline_is_newest_first_without_flagged_or_deactivated_authors(alice, gone):
    posts(alice, 3)
    MessageFactory(author=alice, text="flagged", flagged=True, pub_date=T + dt.timedelta(hours=1))
    MessageFactory(author=gone, text="by gone", pub_date=T + dt.timedelta(hours=1))

    page = selectors.public_timeline(per_page=30)

    assert texts(page) == ["2", "1", "0"]
    assert (page.has_older, page.has_newer) == (False, False)
    assert (page.older_cursor, page.newer_cursor) == (None, None)


def test_messages_posted_within_one_timestamp_keep_their_posting_order(alice):
    first, second = (MessageFactory(author=alice, text=t, pub_date=T) for t in ("a", "b"))
    assert [m.pk for m in selectors.public_timeline(per_page=30).messages] == [
        second.pk,
        first.pk,
    ]


def test_a_user_timeline_shows_only_that_users_visible_messages(alice, bob):
    posts(alice, 2)
    MessageFactory(author=bob, text="bob's")
    MessageFactory(author=alice, text="flagged", flagged=True)
    assert texts(selectors.user_timeline(user=alice, per_page=30)) == ["1", "0"]


def test_a_deactivated_users_timeline_is_empty(gone):
    posts(gone, 2)
    assert texts(selectors.user_timeline(user=gone, per_page=30)) == []


def test_the_personal_timeline_has_own_and_followed_authors_messages(alice, bob, gone):
    carol = UserFactory(username="carol")
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=alice, followed=gone)
    MessageFactory(author=alice, text="mine", pub_date=T)
    MessageFactory(author=bob, text="bob's", pub_date=T + dt.timedelta(seconds=1))
    MessageFactory(author=bob, text="flagged", flagged=True, pub_date=T + dt.timedelta(seconds=2))
    MessageFactory(author=gone, text="by gone", pub_date=T + dt.timedelta(seconds=3))
    MessageFactory(author=carol, text="carol's", pub_date=T + dt.timedelta(seconds=4))

    assert texts(selectors.personal_timeline(user=alice, per_page=30)) == ["bob's", "mine"]
    # Following is one way.
    assert texts(selectors.personal_timeline(user=bob, per_page=30)) == ["bob's"]


def test_a_personal_timeline_without_follows_is_the_users_own(alice):
    posts(alice, 2)
    assert texts(selectors.personal_timeline(user=alice, per_page=30)) == ["1", "0"]


# Pages: keyset pagination on (pub_date, id) ------------------------------------------------


def test_exactly_one_page_of_messages_has_no_older_page(alice):
    posts(alice, 3)
    page = selectors.public_timeline(per_page=3)
    assert texts(page) == ["2", "1", "0"]
    assert not page.has_older and page.older_cursor is None


def test_one_message_more_than_a_page_makes_an_older_page(alice):
    messages = posts(alice, 4)
    page = selectors.public_timeline(per_page=3)
    assert texts(page) == ["3", "2", "1"]
    assert page.has_older and page.older_cursor == messages[1].pk
    assert not page.has_newer and page.newer_cursor is None

    older = selectors.public_timeline(at=PagePosition(before=page.older_cursor), per_page=3)
    assert texts(older) == ["0"]
    assert (older.has_older, older.has_newer) == (False, True)
    assert older.newer_cursor == messages[0].pk


def test_walking_older_pages_shows_every_message_once_even_with_equal_timestamps(alice):
    # Seven messages in three timestamps: the cursor must split ties by id.
    for n in range(7):
        MessageFactory(author=alice, text=str(n), pub_date=T + dt.timedelta(seconds=n // 3))
    seen, at = [], selectors.NEWEST
    while True:
        page = selectors.public_timeline(at=at, per_page=2)
        seen += texts(page)
        if not page.has_older:
            break
        at = PagePosition(before=page.older_cursor)
    assert seen == ["6", "5", "4", "3", "2", "1", "0"]


def test_walking_newer_pages_back_shows_the_same_pages(alice):
    messages = posts(alice, 7)
    oldest = selectors.public_timeline(at=PagePosition(page=4), per_page=2)
    assert texts(oldest) == ["0"]
    assert oldest.newer_cursor == messages[0].pk

    middle = selectors.public_timeline(at=PagePosition(after=oldest.newer_cursor), per_page=2)
    assert texts(middle) == ["2", "1"]
    assert (middle.has_older, middle.has_newer) == (True, True)
    assert (middle.older_cursor, middle.newer_cursor) == (messages[1].pk, messages[2].pk)

    upper = selectors.public_timeline(at=PagePosition(after=middle.newer_cursor), per_page=2)
    assert texts(upper) == ["4", "3"]


def test_fewer_than_a_page_of_newer_messages_gives_the_newest_page_whole(alice):
    messages = posts(alice, 5)
    page = selectors.public_timeline(at=PagePosition(after=messages[2].pk), per_page=3)
    # Only "3" and "4" are newer than "2": the newest page is shown, not a short one.
    assert texts(page) == ["4", "3", "2"]
    assert (page.has_older, page.has_newer) == (True, False)


def test_a_cursor_stays_valid_after_its_message_is_flagged(alice):
    messages = posts(alice, 4)
    services.messages_flag(ids=[messages[2].pk])
    page = selectors.public_timeline(at=PagePosition(before=messages[2].pk), per_page=30)
    assert texts(page) == ["1", "0"]


def test_a_cursor_naming_no_message_gives_an_empty_page(alice):
    posts(alice, 2)
    page = selectors.public_timeline(at=PagePosition(before=999_999), per_page=30)
    assert page.messages == [] and not page.has_older


def test_page_numbers_count_from_one(alice):
    posts(alice, 5)
    assert texts(selectors.public_timeline(at=PagePosition(page=1), per_page=2)) == ["4", "3"]
    second = selectors.public_timeline(at=PagePosition(page=2), per_page=2)
    assert texts(second) == ["2", "1"]
    assert (second.has_older, second.has_newer) == (True, True)
    beyond = selectors.public_timeline(at=PagePosition(page=9), per_page=2)
    assert beyond.messages == [] and beyond.has_newer and not beyond.has_older


def test_a_page_reads_messages_and_authors_in_one_query(alice, django_assert_num_queries):
    posts(alice, 3)
    with django_assert_num_queries(1):
        page = selectors.public_timeline(at=PagePosition(before=10**6), per_page=2)
        [message.author.username for message in page.messages]


# The simulator's reads ---------------------------------------------------------------------


def test_newest_messages_are_rows_with_text_time_and_author(alice, bob, gone):
    MessageFactory(author=alice, text="whole second", pub_date=T)
    MessageFactory(author=bob, text="fraction", pub_date=T + dt.timedelta(microseconds=1500))
    MessageFactory(author=alice, text="flagged", flagged=True, pub_date=T)
    MessageFactory(author=gone, text="by gone", pub_date=T)

    rows = selectors.newest_messages(limit=10)

    stamp = T.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert [(r.text, r.pub_date, r.author__username) for r in rows] == [
        ("fraction", f"{stamp}.001500Z", "bob"),
        ("whole second", f"{stamp}Z", "alice"),
    ]


def test_newest_messages_keeps_to_the_limit_and_the_author(alice, bob):
    posts(alice, 3)
    MessageFactory(author=bob, text="bob's", pub_date=T + dt.timedelta(hours=1))
    assert [r.text for r in selectors.newest_messages(limit=2)] == ["bob's", "2"]
    assert [r.text for r in selectors.newest_messages(limit=5, author_id=alice.pk)] == [
        "2",
        "1",
        "0",
    ]
    assert selectors.newest_messages(limit=0) == []


def test_is_following_is_one_way(alice, bob):
    FollowFactory(follower=alice, followed=bob)
    assert selectors.is_following(follower=alice, followed=bob)
    assert not selectors.is_following(follower=bob, followed=alice)


def test_followed_usernames_are_in_following_order_without_deactivated_users(alice, bob, gone):
    carol = UserFactory(username="carol")
    for followed in (carol, gone, bob):
        FollowFactory(follower=alice, followed=followed)
    assert selectors.followed_usernames(user_id=alice.pk, limit=10) == ["carol", "bob"]
    assert selectors.followed_usernames(user_id=alice.pk, limit=1) == ["carol"]
    assert selectors.followed_usernames(user_id=bob.pk, limit=10) == []


# Operators' reads --------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL's counts are estimates")
def test_site_totals_count_exactly_outside_postgresql(alice, bob):
    FollowFactory(follower=alice, followed=bob)
    messages = posts(alice, 2)
    MessageFactory(author=bob, flagged=True)

    totals = selectors.site_totals()

    assert (totals.users, totals.messages, totals.follows) == (2, 3, 1)
    assert totals.messages_posted == max(m.pk for m in Message.objects.all())
    assert messages[0].pk < totals.messages_posted
    assert totals.database_bytes > 0


def test_site_totals_on_an_empty_site():
    totals = selectors.site_totals()
    assert totals.messages_posted == 0
    if connection.vendor != "postgresql":
        assert (totals.users, totals.messages, totals.follows) == (0, 0, 0)
    assert totals.database_bytes is None or totals.database_bytes > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_site_totals_on_postgresql_read_statistics_and_size(alice):
    message = MessageFactory(author=alice)
    totals = selectors.site_totals()
    # Counts come from the statistics collector, which sees this uncommitted test data
    # late or not at all; the highest id and the size are exact.
    assert min(totals.users, totals.messages, totals.follows) >= 0
    assert totals.messages_posted == message.pk
    assert totals.database_bytes > 0


def test_messages_export_streams_every_message_oldest_id_first(alice, gone):
    first = MessageFactory(author=alice, text="nul-free\ttext")
    flagged = MessageFactory(author=alice, text="spam", flagged=True)
    by_gone = MessageFactory(author=gone, text="still exported")

    assert list(selectors.messages_export(chunk_size=2)) == [
        (first.pk, "alice", "nul-free\ttext", False),
        (flagged.pk, "alice", "spam", True),
        (by_gone.pk, "gone", "still exported", False),
    ]
    assert list(selectors.messages_export(only_flagged=True)) == [
        (flagged.pk, "alice", "spam", True)
    ]


def test_activity_counts_include_hidden_messages(alice, bob):
    posts(alice, 2)
    MessageFactory(author=alice, flagged=True)
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=UserFactory(), followed=alice)
    FollowFactory(follower=UserFactory(), followed=alice)

    assert selectors.user_activity_counts(user=alice) == selectors.ActivityCounts(
        messages=3, following=1, followers=2
    )
    assert selectors.user_activity_counts(user=bob) == selectors.ActivityCounts(
        messages=0, following=0, followers=1
    )

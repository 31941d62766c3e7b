"""timeline.services on their own: every write a web form, the simulator API, the admin or a
command makes. Each refusal is a ServiceError with the text the user is shown; repeating a
request (register, follow, unfollow, flag) has a defined result; text PostgreSQL cannot
store (NUL) is refused before it reaches the database.
"""

import pytest
from django.test import RequestFactory

from timeline import selectors, services
from timeline.models import MESSAGE_MAX_LENGTH, Follow, Message, User
from timeline.services import BulkChange, ServiceError
from timeline.validators import PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG

from .factories import FollowFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

CONTROL_CHARACTERS = "The email address and password cannot contain control characters"
TOO_LONG = f"A message can be at most {MESSAGE_MAX_LENGTH} characters long"


def register(**overrides) -> User:
    fields = {"username": "carol", "email": "carol@example.com", "password": "pw"}
    return services.user_register(**{**fields, **overrides})


def refusal(call, **kwargs) -> str:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    assert str(caught.value) == caught.value.message
    return caught.value.message


# Registering -------------------------------------------------------------------------------


def test_registering_stores_the_user_with_a_hashed_password():
    user = register(password_repeat="pw")
    stored = User.objects.get(username="carol")
    assert stored == user
    assert stored.email == "carol@example.com" and stored.is_active
    assert stored.password != "pw" and stored.check_password("pw")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": ""}, "You have to enter a username"),
        ({"username": None}, "You have to enter a username"),
        ({"email": ""}, "You have to enter a valid email address"),
        ({"email": "carol.example.com"}, "You have to enter a valid email address"),
        ({"password": ""}, "You have to enter a password"),
        ({"password_repeat": "other"}, "The two passwords do not match"),
        ({"password": "x" * (PASSWORD_MAX_LENGTH + 1)}, PASSWORD_TOO_LONG),
        ({"password_repeat": "x" * (PASSWORD_MAX_LENGTH + 1)}, PASSWORD_TOO_LONG),
        ({"username": "car\x00ol"}, "The username cannot contain '/' or control characters"),
        ({"username": " carol"}, "The username cannot start or end with a space"),
        ({"email": "carol@exa\x00mple.com"}, CONTROL_CHARACTERS),
        ({"password": "p\x00w"}, CONTROL_CHARACTERS),
        ({"password": "p\ud800w"}, CONTROL_CHARACTERS),
        ({"email": "c@" + "e" * 260}, "You have to enter a valid email address"),
    ],
)
def test_registering_refuses_with_the_original_minitwits_texts(fields, message):
    assert refusal(register, **fields) == message
    assert not User.objects.exists()


def test_the_first_missing_field_is_the_one_named():
    assert refusal(register, username="", email="", password="") == "You have to enter a username"
    assert refusal(register, email="", password="") == "You have to enter a valid email address"


def test_a_password_may_hold_tabs_and_other_control_characters_but_nul():
    user = register(password="tab\there\x07bell")
    assert user.check_password("tab\there\x07bell")


def test_registering_a_name_twice_is_refused_the_second_time():
    register()
    assert refusal(register, email="other@example.com") == "The username is already taken"
    assert User.objects.count() == 1


def test_a_deactivated_users_name_stays_taken(gone):
    assert refusal(register, username="gone") == "The username is already taken"


def test_a_look_alike_of_a_taken_name_is_refused(alice):
    message = refusal(register, username="\u0430lice")  # Cyrillic а
    assert message == "The username looks too much like one that is already taken"


def test_names_differing_only_in_case_belong_to_different_users(alice):
    # Case-sensitive, as in the original MiniTwit: "Alice" does not look like "alice".
    assert register(username="Alice") != alice
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "Alice"}


# Posting -----------------------------------------------------------------------------------


def test_a_message_is_stored_exactly_as_typed(alice):
    text = "<b>bold?</b> line one\r\nline\ttwo 名前"
    services.message_create(author_id=alice.pk, text=text)
    message = Message.objects.get()
    assert (message.author, message.text, message.flagged) == (alice, text, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "You have to enter a message"),
        (None, "You have to enter a message"),
        (" \n\t ", "You have to enter a message"),
        ("nul\x00byte", "A message cannot contain control characters"),
        ("bell\x07", "A message cannot contain control characters"),
        ("lone \udc00 surrogate", "A message cannot contain control characters"),
        ("x" * (MESSAGE_MAX_LENGTH + 1), TOO_LONG),
    ],
)
def test_a_message_is_refused_with_its_reason(alice, text, message):
    assert refusal(services.message_create, author_id=alice.pk, text=text) == message
    assert refusal(services.message_create_as, username="alice", text=text) == message
    assert not Message.objects.exists()


def test_a_message_of_the_longest_length_is_stored(alice):
    services.message_create(author_id=alice.pk, text="x" * MESSAGE_MAX_LENGTH)
    assert Message.objects.get().text == "x" * MESSAGE_MAX_LENGTH


def test_posting_by_name_stores_the_message_for_that_user(alice):
    assert services.message_create_as(username="alice", text="hello") is True
    assert Message.objects.get().author == alice


@pytest.mark.parametrize("username", ["nobody", "gone", "ALICE", "ali\x00ce", "\ud800", ""])
def test_posting_as_an_unknown_deactivated_or_impossible_user_stores_nothing(alice, gone, username):
    assert services.message_create_as(username=username, text="hello") is False
    assert not Message.objects.exists()


def test_a_refused_text_is_refused_even_for_an_unknown_user():
    message = refusal(services.message_create_as, username="nobody", text="nul\x00")
    assert message == "A message cannot contain control characters"


# Following ---------------------------------------------------------------------------------


def test_following_makes_one_follow_and_following_twice_changes_nothing(alice, bob):
    services.follow_create(follower_id=alice.pk, followed_id=bob.pk)
    services.follow_create(follower_id=alice.pk, followed_id=bob.pk)
    assert list(Follow.objects.values_list("follower", "followed")) == [(alice.pk, bob.pk)]


def test_following_yourself_is_refused(alice):
    refused = refusal(services.follow_create, follower_id=alice.pk, followed_id=alice.pk)
    assert refused == "You cannot follow yourself"
    assert not Follow.objects.exists()


def test_unfollowing_removes_only_that_follow(alice, bob):
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=bob, followed=alice)
    services.follow_delete(follower_id=alice.pk, followed_id=bob.pk)
    assert list(Follow.objects.values_list("follower", "followed")) == [(bob.pk, alice.pk)]


def test_unfollowing_someone_not_followed_is_not_an_error(alice, bob):
    services.follow_delete(follower_id=alice.pk, followed_id=bob.pk)
    FollowFactory(follower=alice, followed=bob)
    services.follow_delete(follower_id=alice.pk, followed_id=bob.pk)
    services.follow_delete(follower_id=alice.pk, followed_id=bob.pk)
    assert not Follow.objects.exists()


# A statement that rides with a write ---------------------------------------------------------


def test_a_rider_runs_with_the_first_write_of_its_block(alice, bob):
    table = User._meta.db_table
    with services.first_write_carries(f"UPDATE {table} SET email = %s WHERE id = %s") as rider:
        rider.params = ["new@example.com", bob.pk]
        services.follow_create(follower_id=alice.pk, followed_id=bob.pk)
        assert rider.done
        bob.refresh_from_db()
        assert bob.email == "new@example.com"
        bob.email = "later@example.com"
        bob.save()
        services.follow_delete(follower_id=alice.pk, followed_id=bob.pk)  # runs alone
    bob.refresh_from_db()
    assert bob.email == "later@example.com"


def test_a_rider_without_params_runs_nowhere(alice):
    table = User._meta.db_table
    with services.first_write_carries(f"UPDATE {table} SET email = 'x@y' WHERE id = %s") as rider:
        services.message_create(author_id=alice.pk, text="hi")
    assert not rider.done
    alice.refresh_from_db()
    assert alice.email != "x@y"


# Signing in --------------------------------------------------------------------------------


@pytest.fixture
def sign_in():
    def attempt(username, password):
        request = RequestFactory().post("/login")
        return services.user_authenticate(request=request, username=username, password=password)

    return attempt


def test_signing_in_with_the_right_password_returns_the_user(sign_in):
    dora = UserFactory(username="dora")
    assert sign_in("dora", "secret") == dora


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("nobody", "secret", "Invalid username"),
        ("DORA", "secret", "Invalid username"),
        ("", "", "Invalid username"),
        ("dora", "wrong", "Invalid password"),
        ("dora", "", "Invalid password"),
        ("dora", "sec\x00ret", "Invalid password"),
        ("do\x00ra", "secret", "Invalid username"),
        ("dora\ud800", "secret", "Invalid username"),
        ("d" * 10_000, "secret", "Invalid username"),
    ],
)
def test_a_failed_sign_in_says_which_part_was_wrong(sign_in, username, password, message):
    UserFactory(username="dora")
    assert refusal(sign_in, username=username, password=password) == message


def test_a_deactivated_account_is_named_only_to_who_knows_its_password(sign_in, gone):
    assert refusal(sign_in, username="gone", password="secret") == (
        "This account has been deactivated"
    )
    assert refusal(sign_in, username="gone", password="wrong") == "Invalid password"


# Moderation --------------------------------------------------------------------------------


def test_flagging_hides_messages_and_reports_what_it_did(alice):
    shown, already, kept = MessageFactory.create_batch(3, author=alice)
    services.messages_flag(ids=[already.pk])

    result = services.messages_flag(ids=[shown.pk, already.pk, shown.pk, 999_999])

    assert result == BulkChange(changed=1, unchanged=1, missing=[999_999])
    assert [m.pk for m in selectors.public_timeline(per_page=30).messages] == [kept.pk]


def test_unflagging_shows_the_messages_again(alice):
    message = MessageFactory(author=alice, flagged=True)
    assert services.messages_flag(ids=[message.pk], flagged=False) == BulkChange(1, 0, [])
    assert services.messages_flag(ids=[message.pk], flagged=False) == BulkChange(0, 1, [])
    assert selectors.public_timeline(per_page=30).messages == [message]


def test_flagging_no_ids_changes_nothing():
    assert services.messages_flag(ids=[]) == BulkChange(changed=0, unchanged=0, missing=[])


def test_flagging_more_ids_than_one_statement_can_bind(alice):
    # SQLite binds at most 999 parameters a statement in old versions: ids go in chunks.
    messages = MessageFactory.create_batch(3, author=alice)
    unknown = list(range(10**6, 10**6 + 1000))
    result = services.messages_flag(ids=[*unknown, *(m.pk for m in messages)])
    assert result == BulkChange(changed=3, unchanged=0, missing=unknown)
    assert Message.objects.filter(flagged=True).count() == 3


def test_deactivating_hides_a_users_messages_everywhere_until_reactivated(alice, bob):
    MessageFactory(author=alice, text="alice's")
    MessageFactory(author=bob, text="bob's")
    FollowFactory(follower=bob, followed=alice)

    assert services.users_set_active(ids=[alice.pk, 999_999], active=False) == BulkChange(
        changed=1, unchanged=0, missing=[999_999]
    )
    assert [r.text for r in selectors.newest_messages(limit=10)] == ["bob's"]
    assert [m.text for m in selectors.personal_timeline(user=bob, per_page=30).messages] == [
        "bob's"
    ]
    assert selectors.followed_usernames(user_id=bob.pk, limit=10) == []
    # Nothing is deleted.
    assert Message.objects.filter(author=alice).count() == 1

    assert services.users_set_active(ids=[alice.pk, bob.pk], active=True) == BulkChange(1, 1, [])
    assert {r.text for r in selectors.newest_messages(limit=10)} == {"alice's", "bob's"}
    assert selectors.followed_usernames(user_id=bob.pk, limit=10) == ["alice"]

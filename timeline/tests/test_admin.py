"""Moderation in the Django admin: who gets in, what staff can do, and that lists stay cheap."""

import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from timeline import selectors
from timeline.admin import LargeTablePaginator
from timeline.models import Follow, Message, User

from .factories import FollowFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

MESSAGES = reverse("admin:timeline_message_changelist")
USERS = reverse("admin:timeline_user_changelist")
FOLLOWS = reverse("admin:timeline_follow_changelist")


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("moderator", "mod@example.com", "modpass")


@pytest.fixture
def staff_client(staff):
    staff_client = Client()
    staff_client.force_login(staff)
    return staff_client


def action(client, url, name, objects, **extra):
    return client.post(
        url,
        {"action": name, "_selected_action": [obj.pk for obj in objects], **extra},
        follow=True,
    )


# Who gets in ----------------------------------------------------------------------------


def test_a_visitor_is_sent_to_the_admin_sign_in(client):
    response = client.get(MESSAGES)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_signed_in_user_who_is_not_staff_cannot_reach_the_admin(client, alice):
    client.force_login(alice)
    for url in (reverse("admin:index"), MESSAGES, USERS):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_sign_in_refuses_a_user_who_is_not_staff(client, alice):
    response = client.post(
        reverse("admin:login"), {"username": "alice", "password": "secret", "next": MESSAGES}
    )
    assert response.status_code == HTTPStatus.OK
    assert "Please enter the correct username and password for a staff account" in response.text
    assert client.get(MESSAGES).status_code == HTTPStatus.FOUND


def test_staff_without_the_permission_cannot_open_the_message_list(client):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(MESSAGES).status_code == HTTPStatus.FORBIDDEN


def test_staff_with_view_permission_only_cannot_flag(client):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    message = MessageFactory(text="stays up")
    client.force_login(viewer)
    page = client.get(MESSAGES)
    assert page.status_code == HTTPStatus.OK
    assert "flag_selected" not in page.text
    action(client, MESSAGES, "flag_selected", [message])
    message.refresh_from_db()
    assert message.flagged is False


def test_createsuperuser_works_without_prompts(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3cret-admin")
    call_command("createsuperuser", "--noinput", username="Chief Mod", email="chief@example.com")
    chief = User.objects.get(username="Chief Mod")
    assert chief.is_staff and chief.is_superuser and chief.is_active
    # django-axes (sign-in throttling) needs the request every real sign-in has.
    assert client.login(request=HttpRequest(), username="Chief Mod", password="s3cret-admin")
    assert client.get(MESSAGES).status_code == HTTPStatus.OK


# Messages -------------------------------------------------------------------------------


def test_the_message_list_shows_excerpt_author_date_and_flag(staff_client):
    author = UserFactory(username="Roger Histand")
    MessageFactory(author=author, text="word " * 40)
    page = staff_client.get(MESSAGES).text
    assert "word word" in page and ("word " * 40).strip() not in page  # an excerpt
    assert f'href="{reverse("admin:timeline_user_change", args=[author.pk])}"' in page
    assert ">Roger Histand</a>" in page
    assert "field-pub_date" in page and "field-flag_mark" in page
    assert "1 message" in page


def test_the_author_field_is_a_raw_id_not_a_list_of_every_user(staff_client):
    message = MessageFactory()
    UserFactory.create_batch(3)
    page = staff_client.get(reverse("admin:timeline_message_change", args=[message.pk])).text
    assert re.search(r'<input[^>]+name="author"[^>]+vForeignKeyRawIdAdminField', page)
    assert '<select name="author"' not in page


def test_messages_can_be_searched_by_text_and_by_exact_author_name(staff_client):
    roger = UserFactory(username="Roger Histand")
    MessageFactory(author=roger, text="hello from roger")
    MessageFactory(text="Kubernetes everywhere")
    MessageFactory(text="nothing relevant")

    by_text = staff_client.get(MESSAGES, {"q": "kubernetes"}).text
    assert "Kubernetes everywhere" in by_text and "hello from roger" not in by_text

    by_author = staff_client.get(MESSAGES, {"q": "Roger Histand"}).text
    assert "hello from roger" in by_author and "Kubernetes" not in by_author


def test_messages_can_be_filtered_by_flag_and_by_author(staff_client):
    author = UserFactory()
    MessageFactory(author=author, text="visible one")
    MessageFactory(text="hidden one", flagged=True)

    flagged = staff_client.get(MESSAGES, {"flagged__exact": "1"}).text
    assert "hidden one" in flagged and "visible one" not in flagged

    mine = staff_client.get(MESSAGES, {"author__id__exact": author.pk}).text
    assert "visible one" in mine and "hidden one" not in mine


def test_flagging_hides_messages_everywhere_and_unflagging_restores_them(staff_client, client):
    author = UserFactory(username="dora")
    spam = [MessageFactory(author=author, text=f"buy pills {i}") for i in range(2)]
    MessageFactory(author=author, text="a normal message")

    response = action(staff_client, MESSAGES, "flag_selected", spam)
    assert "Flagged 2 messages." in response.text
    for page in (client.get("/public").text, client.get("/dora").text):
        assert "buy pills" not in page and "a normal message" in page
    shown = [m.text for m in selectors.newest_messages(limit=10)]  # what GET /msgs serves
    assert shown == ["a normal message"]

    response = action(staff_client, MESSAGES, "unflag_selected", spam[:1])
    assert "Unflagged 1 message." in response.text
    assert "buy pills 0" in client.get("/public").text
    assert "buy pills 1" not in client.get("/public").text


def test_flagging_an_already_flagged_message_says_so(staff_client):
    messages = [MessageFactory(flagged=True), MessageFactory()]
    response = action(staff_client, MESSAGES, "flag_selected", messages)
    assert "Flagged 1 message; 1 already flagged." in response.text
    assert Message.objects.filter(flagged=True).count() == 2


@pytest.mark.parametrize("url", [MESSAGES, USERS, FOLLOWS, f"{MESSAGES}?flagged__exact=0"])
def test_admin_lists_cost_the_same_queries_with_little_and_much_data(
    staff_client, django_assert_max_num_queries, url
):
    def grow(authors):
        for _ in range(authors):
            author = UserFactory()
            MessageFactory.create_batch(5, author=author)
            FollowFactory(follower=author)

    grow(2)
    with django_assert_max_num_queries(6) as small:
        staff_client.get(url)
    grow(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        staff_client.get(url)


def test_a_long_filtered_list_is_counted_only_up_to_a_cap(staff_client, monkeypatch):
    monkeypatch.setattr(LargeTablePaginator, "count_cap", 5)
    MessageFactory.create_batch(8, text="same words")
    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(MESSAGES, {"q": "same"}).text
    assert "more than 5 messages" in page
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 6" in sql for sql in counts)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row estimates come from PostgreSQL's pg_class"
)
def test_the_unfiltered_list_uses_the_row_estimate_instead_of_counting(staff_client, monkeypatch):
    monkeypatch.setattr(LargeTablePaginator, "estimate_above", 10)
    MessageFactory.create_batch(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE minitwit_message")
    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(MESSAGES).text
    assert "about 40 messages" in page
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not [q for q in sql if "COUNT(" in q and "MINITWIT_MESSAGE" in q]


# Users ----------------------------------------------------------------------------------


def test_users_can_be_searched_and_filtered_by_flags(staff_client):
    UserFactory(username="Wendell Ballan", is_active=False)
    UserFactory(username="Geoffrey Stieff")
    found = staff_client.get(USERS, {"q": "wendell"}).text
    assert "Wendell Ballan" in found and "Geoffrey Stieff" not in found
    inactive = staff_client.get(USERS, {"is_active__exact": "0"}).text
    assert "Wendell Ballan" in inactive and "Geoffrey Stieff" not in inactive
    staff_only = staff_client.get(USERS, {"is_staff__exact": "1"}).text
    assert "moderator" in staff_only and "Wendell Ballan" not in staff_only


def test_adding_a_user_in_the_admin_makes_an_account_that_can_sign_in(staff_client, client):
    UserFactory(username="alice")
    response = staff_client.post(
        reverse("admin:timeline_user_add"),
        {
            "username": "Alice",  # usernames are case-sensitive: "alice" is someone else
            "email": "big.alice@example.com",
            "usable_password": "true",
            "password1": "wonderland",
            "password2": "wonderland",
        },
    )
    assert response.status_code == HTTPStatus.FOUND, response.text
    created = User.objects.get(username="Alice")
    assert created.email == "big.alice@example.com" and not created.is_staff
    response = client.post("/login", {"username": "Alice", "password": "wonderland"})
    assert response.status_code == HTTPStatus.FOUND


def test_the_add_user_form_refuses_a_reserved_or_taken_name(staff_client):
    UserFactory(username="alice")
    for name in ("alice", "public", "a/b"):
        response = staff_client.post(
            reverse("admin:timeline_user_add"),
            {"username": name, "usable_password": "true", "password1": "x", "password2": "x"},
        )
        assert response.status_code == HTTPStatus.OK, name
        assert "errornote" in response.text, name
    assert User.objects.filter(username__in=["public", "a/b"]).count() == 0


def test_staff_can_set_a_users_password(staff_client, client, alice):
    url = reverse("admin:auth_user_password_change", args=[alice.pk])
    response = staff_client.post(url, {"password1": "n3w-pass", "password2": "n3w-pass"})
    assert response.status_code == HTTPStatus.FOUND, response.text
    assert client.post("/login", {"username": "alice", "password": "n3w-pass"}).status_code == (
        HTTPStatus.FOUND
    )


def test_staff_can_make_a_user_staff_and_deactivate_them_on_the_change_form(staff_client, alice):
    url = reverse("admin:timeline_user_change", args=[alice.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and not isinstance(value, list)
    }
    data.update(
        {
            "date_joined_0": alice.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": alice.date_joined.strftime("%H:%M:%S"),
            "is_staff": "on",
            # is_active left out: an unchecked box
        }
    )
    data.pop("date_joined", None)
    data.pop("is_active", None)
    response = staff_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    alice.refresh_from_db()
    assert alice.is_staff is True and alice.is_active is False


def test_deactivating_a_user_stops_sign_in_and_hides_their_messages(staff_client, client, alice):
    MessageFactory(author=alice, text="alice was here")
    response = action(staff_client, USERS, "deactivate_selected", [alice])
    assert "Deactivated 1 user." in response.text

    assert "alice was here" not in client.get("/public").text
    login = client.post("/login", {"username": "alice", "password": "secret"})
    assert "This account has been deactivated" in login.text

    action(staff_client, USERS, "reactivate_selected", [alice])
    assert "alice was here" in client.get("/public").text
    assert client.post("/login", {"username": "alice", "password": "secret"}).status_code == (
        HTTPStatus.FOUND
    )


def test_a_deactivated_user_is_signed_out_of_their_open_session(staff_client, client, alice):
    client.force_login(alice)
    assert "sign out [alice]" in client.get("/").text
    action(staff_client, USERS, "deactivate_selected", [alice])
    assert client.get("/").status_code == HTTPStatus.FOUND  # a visitor again: to /public


def test_staff_cannot_deactivate_themselves(staff_client, staff):
    response = action(staff_client, USERS, "deactivate_selected", [staff])
    assert "You cannot deactivate yourself." in response.text
    staff.refresh_from_db()
    assert staff.is_active


def test_a_users_page_links_to_their_messages_and_follows(staff_client, alice, bob):
    carol = UserFactory(username="carol")
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=carol, followed=alice)
    MessageFactory.create_batch(2, author=alice)
    page = staff_client.get(reverse("admin:timeline_user_change", args=[alice.pk])).text
    assert f'href="{MESSAGES}?author__id__exact={alice.pk}">2 messages</a>' in page
    assert f'href="{FOLLOWS}?follower__id__exact={alice.pk}">follows 1</a>' in page
    assert f'href="{FOLLOWS}?followed__id__exact={alice.pk}">followed by 1</a>' in page

    following = staff_client.get(FOLLOWS, {"follower__id__exact": alice.pk})
    assert following.status_code == HTTPStatus.OK
    assert [f.followed.username for f in following.context["cl"].result_list] == ["bob"]
    followers = staff_client.get(FOLLOWS, {"followed__id__exact": alice.pk})
    assert [f.follower.username for f in followers.context["cl"].result_list] == ["carol"]


def test_follows_can_be_searched_by_exact_username(staff_client, alice, bob):
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=bob, followed=alice)
    FollowFactory()
    found = staff_client.get(FOLLOWS, {"q": "bob"}).context["cl"].result_list
    assert {(f.follower.username, f.followed.username) for f in found} == {
        ("alice", "bob"),
        ("bob", "alice"),
    }
    assert list(staff_client.get(FOLLOWS, {"q": "nobody"}).context["cl"].result_list) == []
    assert Follow.objects.count() == 3


def test_only_flagged_messages_carry_a_mark_in_the_list(staff_client):
    MessageFactory(text="ordinary")
    MessageFactory(text="hidden", flagged=True)
    page = staff_client.get(MESSAGES).text
    assert page.count("⚑ flagged") == 1
    assert "icon-no.svg" not in page  # the red ✗ of a boolean column


def test_the_admin_lists_let_long_words_wrap(staff_client):
    page = staff_client.get(MESSAGES).text
    assert "css/admin.css" in page

from http import HTTPStatus

import pytest

from timeline.models import Follow

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_following_adds_their_messages_to_my_timeline(alice_client, alice, bob):
    MessageFactory(author=bob, text="bob speaks")
    assert "bob speaks" not in alice_client.get("/").text
    response = alice_client.post("/bob/follow", follow=True)
    assert "You are now following &#34;bob&#34;" in response.text
    assert "You are currently following this user." in response.text
    assert "bob speaks" in alice_client.get("/").text


def test_unfollowing_removes_their_messages_again(alice_client, alice, bob):
    MessageFactory(author=bob, text="bob speaks")
    Follow.objects.create(follower=alice, followed=bob)
    response = alice_client.post("/bob/unfollow", follow=True)
    assert "You are no longer following &#34;bob&#34;" in response.text
    assert "You are not yet following this user." in response.text
    assert "bob speaks" not in alice_client.get("/").text


def test_following_twice_keeps_one_relation(alice_client, alice, bob):
    alice_client.post("/bob/follow")
    alice_client.post("/bob/follow")
    assert Follow.objects.filter(follower=alice, followed=bob).count() == 1


def test_unfollowing_someone_not_followed_is_not_an_error(alice_client, bob):
    response = alice_client.post("/bob/unfollow")
    assert response.status_code == HTTPStatus.FOUND


def test_my_own_profile_says_this_is_you_and_offers_no_follow(alice_client):
    page = alice_client.get("/alice").text
    assert "This is you!" in page
    assert "Follow user" not in page


def test_following_myself_is_refused(alice_client, alice):
    response = alice_client.post("/alice/follow", follow=True)
    assert "You cannot follow yourself" in response.text
    assert not Follow.objects.exists()


def test_following_an_unknown_user_is_a_404(alice_client):
    assert alice_client.post("/ghost/follow").status_code == HTTPStatus.NOT_FOUND


def test_visitors_are_asked_to_sign_in_to_follow(client, bob):
    response = client.post("/bob/follow")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/login")
    assert not Follow.objects.exists()

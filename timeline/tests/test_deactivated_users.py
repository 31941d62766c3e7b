"""A deactivated user (is_active=False) is unknown to the public: every page that names them
answers 404 and no timeline shows their messages. Staff still see them in the admin."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from timeline.models import Follow, User

from .factories import MessageFactory

pytestmark = pytest.mark.django_db


def test_a_deactivated_users_profile_is_not_found(client, gone):
    MessageFactory(author=gone, text="still here?")
    response = client.get("/gone")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "still here?" not in response.text


@pytest.mark.parametrize("action", ["follow", "unfollow"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_deactivated_user_cannot_be_followed_or_unfollowed(
    alice_client, alice, gone, action, method
):
    response = getattr(alice_client, method)(f"/gone/{action}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not Follow.objects.filter(follower=alice, followed=gone).exists()


def test_a_followed_user_who_is_deactivated_leaves_my_timeline(alice_client, alice, gone):
    Follow.objects.create(follower=alice, followed=gone)
    MessageFactory(author=gone, text="from the gone")
    MessageFactory(author=alice, text="from alice")
    page = alice_client.get("/").text
    assert "from alice" in page
    assert "from the gone" not in page


def test_a_deactivated_users_messages_leave_the_public_timeline(client, alice, gone):
    MessageFactory(author=gone, text="from the gone")
    MessageFactory(author=alice, text="from alice")
    page = client.get("/public").text
    assert "from alice" in page
    assert "from the gone" not in page


def test_staff_still_find_a_deactivated_user_in_the_admin(client, gone):
    client.force_login(User.objects.create_superuser("moderator", "mod@example.com", "pw"))
    users = client.get(reverse("admin:timeline_user_changelist"), {"q": "gone"})
    assert users.status_code == HTTPStatus.OK
    assert ">gone<" in users.text
    change = client.get(reverse("admin:timeline_user_change", args=[gone.pk]))
    assert change.status_code == HTTPStatus.OK
    assert 'value="gone"' in change.text

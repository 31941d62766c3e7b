"""The simulator API treats a deactivated user as unknown: 404 on both sides of every
per-user operation, and nothing written in their name."""

from http import HTTPStatus

import pytest

from timeline.models import Follow, Message
from timeline.tests.factories import MessageFactory

from .conftest import assert_error

pytestmark = pytest.mark.django_db


def test_reading_a_deactivated_users_messages_is_not_found(sim, gone):
    MessageFactory(author=gone)
    assert_error(sim.get("/msgs/gone"), HTTPStatus.NOT_FOUND)


def test_posting_as_a_deactivated_user_is_not_found(sim, gone):
    assert_error(sim.post("/msgs/gone", {"content": "hello"}), HTTPStatus.NOT_FOUND)
    assert not Message.objects.filter(author=gone).exists()


def test_a_deactivated_users_follows_are_not_found(sim, gone):
    assert_error(sim.get("/fllws/gone"), HTTPStatus.NOT_FOUND)
    assert_error(sim.post("/fllws/gone", {"follow": "alice"}), HTTPStatus.NOT_FOUND)


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_following_or_unfollowing_a_deactivated_user_is_not_found(sim, alice, gone, action):
    assert_error(sim.post("/fllws/alice", {action: "gone"}), HTTPStatus.NOT_FOUND)
    assert not Follow.objects.filter(follower=alice, followed=gone).exists()


def test_a_deactivated_user_leaves_the_lists_of_whom_others_follow(sim, alice, bob, gone):
    Follow.objects.create(follower=alice, followed=gone)
    Follow.objects.create(follower=alice, followed=bob)
    assert sim.get("/fllws/alice").json() == {"follows": ["bob"]}

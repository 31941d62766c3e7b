from http import HTTPStatus

import pytest

from timeline.models import Follow
from timeline.tests.factories import FollowFactory, UserFactory

from .conftest import assert_error

pytestmark = pytest.mark.django_db


def follows(sim, username: str, query: str = "") -> list[str]:
    response = sim.get(f"/fllws/{username}{query}")
    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"follows"}
    return response.json()["follows"]


def test_following_answers_204_and_shows_in_the_list(sim, alice, bob):
    response = sim.post("/fllws/alice", {"follow": "bob"})
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    assert follows(sim, "alice") == ["bob"]
    assert follows(sim, "bob") == []


def test_the_list_is_in_the_order_people_were_followed(sim, alice):
    for name in ["zed", "amy", "Roger Histand"]:
        UserFactory(username=name)
        sim.post("/fllws/alice", {"follow": name})
    assert follows(sim, "alice") == ["zed", "amy", "Roger Histand"]


def test_no_limits_the_list(sim, alice):
    for followed in UserFactory.create_batch(5):
        FollowFactory(follower=alice, followed=followed)
    assert len(follows(sim, "alice", "?no=2")) == 2
    assert len(follows(sim, "alice")) == 5


def test_the_default_is_100_follows(sim, alice):
    for followed in UserFactory.create_batch(102):
        FollowFactory(follower=alice, followed=followed)
    assert len(follows(sim, "alice")) == 100


def test_following_twice_is_not_an_error_and_keeps_one_row(sim, alice, bob):
    assert sim.post("/fllws/alice", {"follow": "bob"}).status_code == 204
    assert sim.post("/fllws/alice", {"follow": "bob"}).status_code == 204
    assert Follow.objects.count() == 1


def test_unfollowing_answers_204_and_removes_the_follow(sim, alice, bob):
    FollowFactory(follower=alice, followed=bob)
    assert sim.post("/fllws/alice", {"unfollow": "bob"}).status_code == 204
    assert follows(sim, "alice") == []


def test_unfollowing_someone_not_followed_is_not_an_error(sim, alice, bob):
    assert sim.post("/fllws/alice", {"unfollow": "bob"}).status_code == 204
    assert not Follow.objects.exists()


def test_unfollowing_leaves_other_follows_alone(sim, alice, bob):
    carol = UserFactory(username="carol")
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=alice, followed=carol)
    FollowFactory(follower=carol, followed=bob)
    sim.post("/fllws/alice", {"unfollow": "bob"})
    assert follows(sim, "alice") == ["carol"]
    assert follows(sim, "carol") == ["bob"]


def test_following_yourself_is_a_400(sim, alice):
    assert_error(
        sim.post("/fllws/alice", {"follow": "alice"}),
        HTTPStatus.BAD_REQUEST,
        "You cannot follow yourself",
    )
    assert not Follow.objects.exists()


def test_unfollowing_yourself_is_a_no_op(sim, alice):
    assert sim.post("/fllws/alice", {"unfollow": "alice"}).status_code == 204


@pytest.mark.parametrize("key", ["follow", "unfollow"])
def test_an_unknown_user_is_a_404_on_either_side(sim, alice, key):
    assert_error(sim.post("/fllws/nobody", {key: "alice"}), HTTPStatus.NOT_FOUND)
    assert_error(sim.post("/fllws/alice", {key: "nobody"}), HTTPStatus.NOT_FOUND)
    assert not Follow.objects.exists()


def test_the_list_of_an_unknown_user_is_a_404(sim):
    assert_error(sim.get("/fllws/nobody"), HTTPStatus.NOT_FOUND)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"follow": "bob", "unfollow": "bob"},
        {"follow": ""},
        {"follow": 7},
        {"follow": ["bob"]},
        {"follow": None},
        {"something": "bob"},
    ],
)
def test_a_body_without_exactly_one_username_is_a_400(sim, alice, bob, body):
    assert_error(sim.post("/fllws/alice", body), HTTPStatus.BAD_REQUEST)
    assert not Follow.objects.exists()

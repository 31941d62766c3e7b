"""One row that breaks today's rules (written straight into the database by an import or a
manual fix) must not take a page down for everyone: its author is shown without a link and
every other message still shows."""

from http import HTTPStatus

import pytest

from timeline.models import Follow, User

from .factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

BAD_NAME = "north/south"


@pytest.fixture
def bad_author(db):
    # .update() skips every validator, as a raw import or a psql session would.
    user = UserFactory(username="placeholder")
    User.objects.filter(pk=user.pk).update(username=BAD_NAME)
    user.refresh_from_db()
    MessageFactory(author=user, text="from the bad row")
    return user


def _shows_both(response):
    assert response.status_code == HTTPStatus.OK
    assert "from the bad row" in response.text
    assert "from alice" in response.text
    # Named, but not linked: no URL can point at a name with "/".
    assert f"<strong>{BAD_NAME}</strong>" in response.text
    assert '<a href="/alice">alice</a>' in response.text


def test_the_public_timeline_survives_a_username_no_url_can_hold(client, alice, bad_author):
    MessageFactory(author=alice, text="from alice")
    _shows_both(client.get("/public"))


def test_my_timeline_survives_following_a_username_no_url_can_hold(alice_client, alice, bad_author):
    MessageFactory(author=alice, text="from alice")
    Follow.objects.create(follower=alice, followed=bad_author)
    _shows_both(alice_client.get("/"))


def test_a_profile_survives_a_username_no_url_can_hold(client, alice, bad_author):
    MessageFactory(author=alice, text="from alice")
    # The profile itself is unreachable (a "/" splits the path); others' profiles still work.
    assert client.get("/alice").status_code == HTTPStatus.OK
    assert client.get("/north/south").status_code == HTTPStatus.NOT_FOUND


def test_the_api_lists_a_message_whose_author_breaks_todays_rules(client, alice, bad_author):
    from simapi.tests.conftest import SimulatorClient, basic_auth

    MessageFactory(author=alice, text="from alice")
    response = SimulatorClient(basic_auth()).get("/msgs")
    assert response.status_code == HTTPStatus.OK
    assert {row["user"] for row in response.json()} == {"alice", BAD_NAME}

from http import HTTPStatus

import pytest

from .factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sixty_one_messages():
    author = UserFactory(username="dora")
    return [MessageFactory(author=author, text=f"msg-{i:03d}") for i in range(61)]


def test_thirty_messages_per_page_with_older_and_newer_links(client, sixty_one_messages):
    first = client.get("/public").text
    assert first.count("msg-") == 30
    assert "msg-060" in first and "msg-031" in first and "msg-030" not in first
    assert 'href="?page=2"' in first and "newer messages" not in first

    second = client.get("/public?page=2").text
    assert "msg-030" in second and "msg-001" in second
    assert 'href="?page=1"' in second and 'href="?page=3"' in second

    third = client.get("/public?page=3").text
    assert third.count("msg-") == 1 and "msg-000" in third
    assert "older messages" not in third


def test_profiles_page_the_same_way(client, sixty_one_messages):
    assert client.get("/dora?page=3").text.count("msg-") == 1


def test_a_page_past_the_end_is_a_404(client, sixty_one_messages):
    assert client.get("/public?page=4").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "99999999999"])
def test_a_nonsense_page_number_is_a_400_with_a_reason(client, page):
    response = client.get(f"/public?page={page}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "The page number must be a whole number" in response.text

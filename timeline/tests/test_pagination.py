import datetime as dt
import re
from http import HTTPStatus

import pytest
from django.utils import timezone

from .factories import MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sixty_one_messages():
    author = UserFactory(username="dora")
    return [MessageFactory(author=author, text=f"msg-{i:03d}") for i in range(61)]


def link(page: str, kind: str) -> str | None:
    found = re.search(rf'<a class="{kind}" href="([^"]+)"', page)
    return found and found[1]


def test_thirty_messages_per_page_with_older_and_newer_links(client, sixty_one_messages):
    first = client.get("/public").text
    assert first.count("msg-") == 30
    assert "msg-060" in first and "msg-031" in first and "msg-030" not in first
    assert link(first, "older") and "newer messages" not in first

    second = client.get("/public" + link(first, "older")).text
    assert second.count("msg-") == 30
    assert "msg-030" in second and "msg-001" in second
    assert link(second, "newer") and link(second, "older")

    third = client.get("/public" + link(second, "older")).text
    assert third.count("msg-") == 1 and "msg-000" in third
    assert "older messages" not in third

    back = client.get("/public" + link(third, "newer")).text
    assert back.count("msg-") == 30 and "msg-030" in back and "msg-001" in back
    newest = client.get("/public" + link(back, "newer")).text
    assert newest.count("msg-") == 30 and "msg-060" in newest
    assert "newer messages" not in newest


def test_the_older_link_names_a_message_not_a_page_number(client, sixty_one_messages):
    # A cursor, so that a page reached by following links costs what the first one does.
    older = link(client.get("/public").text, "older")
    assert older == f"?before={sixty_one_messages[31].pk}"


def test_messages_posted_meanwhile_do_not_shift_the_older_pages(client, sixty_one_messages):
    older = link(client.get("/public").text, "older")
    for i in range(5):
        MessageFactory(author=sixty_one_messages[0].author, text=f"new-{i}")
    second = client.get("/public" + older).text
    assert "msg-030" in second and "msg-031" not in second and "new-" not in second


def test_messages_in_the_same_second_are_neither_skipped_nor_repeated(client):
    # Cursors order by (pub_date, id), so ties in pub_date page correctly.
    author = UserFactory()
    moment = timezone.now() - dt.timedelta(hours=1)
    for i in range(45):
        MessageFactory(author=author, text=f"tie-{i:02d}", pub_date=moment)
    first = client.get("/public").text
    second = client.get("/public" + link(first, "older")).text
    seen = re.findall(r"tie-\d\d", first) + re.findall(r"tie-\d\d", second)
    assert sorted(seen) == [f"tie-{i:02d}" for i in range(45)]


def test_a_newer_link_near_the_top_shows_the_newest_page_whole(client, sixty_one_messages):
    newest_but_one = sixty_one_messages[59].pk
    page = client.get(f"/public?after={newest_but_one}").text
    assert page.count("msg-") == 30 and "msg-060" in page and "newer messages" not in page


def test_profiles_page_the_same_way(client, sixty_one_messages):
    assert client.get("/dora?page=3").text.count("msg-") == 1
    second = client.get("/dora" + link(client.get("/dora").text, "older")).text
    assert second.count("msg-") == 30 and "msg-030" in second


def test_an_old_page_number_link_still_shows_that_page(client, sixty_one_messages):
    second = client.get("/public?page=2").text
    assert "msg-030" in second and "msg-001" in second and "msg-031" not in second
    assert link(second, "older") == f"?before={sixty_one_messages[1].pk}"


def test_a_page_number_past_the_cap_goes_to_the_last_numbered_page(client):
    response = client.get("/public?page=5000")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/public?page=100"


def test_a_page_past_the_end_is_a_404(client, sixty_one_messages):
    assert client.get("/public?page=4").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "99999999999"])
def test_a_nonsense_page_number_is_a_400_with_a_reason(client, page):
    response = client.get(f"/public?page={page}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "The page number must be a whole number" in response.text


@pytest.mark.parametrize(
    "query", ["before=abc", "after=0", "before=-3", "before=1e3", "before=99999999999999999999"]
)
def test_a_nonsense_cursor_is_a_400_with_a_reason(client, query):
    response = client.get(f"/public?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "must be message numbers" in response.text


def test_before_and_after_together_are_a_400(client):
    response = client.get("/public?before=3&after=2")
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_a_page_reached_by_older_links_costs_the_queries_of_the_first(
    client, sixty_one_messages, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10) as first:
        page = client.get("/public").text
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/public" + link(page, "older"))

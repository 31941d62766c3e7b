"""The number of SQL queries per page must not grow with the data (no N+1)."""

import pytest

from .factories import FollowFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def grow(me, authors: int):
    for _ in range(authors):
        author = UserFactory()
        FollowFactory(follower=me, followed=author)
        MessageFactory.create_batch(3, author=author)


@pytest.mark.parametrize("url", ["/", "/public", "/someone", "/someone?page=2"])
def test_pages_use_the_same_queries_with_little_and_much_data(
    client, django_assert_max_num_queries, url
):
    me = UserFactory(username="someone")
    MessageFactory.create_batch(35, author=me)
    client.force_login(me)
    grow(me, 2)
    with django_assert_max_num_queries(5) as small:
        client.get(url)
    grow(me, 25)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)

"""The read cache (timeline/read_cache.py): visitors' pages and the simulator API's lists
come from it, and every kind of write retires it at once.

Every test in the suite runs with the cache on (the `read_cache` fixture in the root
conftest.py); these tests are about the cache itself.
"""

import base64
import json
import socket
from http import HTTPStatus

import pytest
from django.core.cache import caches
from django.core.management import call_command

from timeline import read_cache, services
from timeline.models import Message, User

from .factories import FollowFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db

SIMULATOR = {"Authorization": "Basic " + base64.b64encode(b"simulator:super_safe!").decode()}


def api_get(client, path: str):
    response = client.get(path, headers=SIMULATOR)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def api_post(client, path: str, body: dict) -> None:
    response = client.post(
        path, json.dumps(body), content_type="application/json", headers=SIMULATOR
    )
    assert response.status_code == HTTPStatus.NO_CONTENT, response.content


def test_a_visitors_second_view_of_a_page_costs_no_query(client, django_assert_num_queries):
    MessageFactory(author=UserFactory(username="dora"), text="hello")
    for path in ("/public", "/dora"):
        first = client.get(path)
        with django_assert_num_queries(0):
            again = client.get(path)
        assert again.status_code == HTTPStatus.OK
        assert again.content == first.content
        # Downstream caches must still tell visitors from signed-in users.
        assert "Cookie" in again["Vary"]


def test_the_simulator_lists_come_from_the_cache_until_a_write(client, django_assert_num_queries):
    dora = UserFactory(username="dora")
    MessageFactory(author=dora, text="hello")
    FollowFactory(follower=dora, followed=UserFactory(username="emil"))
    for path in ("/msgs", "/msgs/dora", "/fllws/dora"):
        first = api_get(client, path)
        # The simulator's credentials are checked on every request, without a query.
        with django_assert_num_queries(0):
            assert api_get(client, path) == first


def _post_on_the_page(client, alice):
    client.force_login(alice)
    client.post("/add_message", {"text": "fresh news"})
    client.logout()


def _post_through_the_api(client, alice):
    api_post(client, "/msgs/alice?latest=1", {"content": "fresh news"})


def _post_with_the_service(client, alice):
    services.message_create(author_id=alice.pk, text="fresh news")


def _unflag(client, alice):
    message = Message.objects.get(text="flagged news")
    services.messages_flag(ids=[message.pk], flagged=False)


def _reactivate_author(client, alice):
    services.users_set_active(ids=[User.objects.get(username="zed").pk], active=True)


@pytest.mark.parametrize(
    ("write", "news"),
    [
        (_post_on_the_page, "fresh news"),
        (_post_through_the_api, "fresh news"),
        (_post_with_the_service, "fresh news"),
        (_unflag, "flagged news"),
        (_reactivate_author, "news from zed"),
    ],
)
def test_a_message_shows_at_once_however_it_became_visible(client, alice, write, news):
    # Everything the write needs exists before the pages are first read and cached.
    MessageFactory(author=alice, text="flagged news", flagged=True)
    MessageFactory(author=UserFactory(username="zed", is_active=False), text="news from zed")
    assert news not in client.get("/public").text
    assert all(m["content"] != news for m in api_get(client, "/msgs"))
    write(client, alice)
    assert news in client.get("/public").text
    assert any(m["content"] == news for m in api_get(client, "/msgs"))


def test_generated_data_shows_at_once(client):
    assert "no message so far" in client.get("/public").text
    call_command("generate_data", users=3, messages=5, follows_per_user=0, verbosity=0)
    assert "no message so far" not in client.get("/public").text
    assert len(api_get(client, "/msgs")) == 5


@pytest.mark.parametrize(
    "hide",
    [
        lambda message: services.messages_flag(ids=[message.pk]),
        lambda message: services.users_set_active(ids=[message.author_id], active=False),
        lambda message: message.delete(),
        lambda message: message.author.delete(),
    ],
    ids=["flagged", "author deactivated", "deleted", "author deleted"],
)
def test_a_message_disappears_at_once_however_it_was_hidden(client, hide):
    message = MessageFactory(author=UserFactory(username="alice"), text="soon gone")
    for read in (lambda: client.get("/public").text, lambda: str(api_get(client, "/msgs"))):
        assert "soon gone" in read()
    hide(message)
    assert "soon gone" not in client.get("/public").text
    assert "soon gone" not in str(api_get(client, "/msgs"))


def test_a_renamed_author_shows_under_the_new_name(client):
    alice = MessageFactory(author=UserFactory(username="alice"), text="hi").author
    assert ">alice<" in client.get("/public").text
    # What the admin's change form does.
    alice.username = "alicia"
    alice.save()
    assert ">alicia<" in client.get("/public").text


def test_follows_and_unfollows_show_at_once_in_the_follow_list(client, alice, bob):
    assert api_get(client, "/fllws/alice") == {"follows": []}
    api_post(client, "/fllws/alice", {"follow": "bob"})
    assert api_get(client, "/fllws/alice") == {"follows": ["bob"]}
    api_post(client, "/fllws/alice", {"unfollow": "bob"})
    assert api_get(client, "/fllws/alice") == {"follows": []}


def test_signed_in_users_never_get_the_visitors_page(client, alice):
    MessageFactory(author=alice, text="hello")
    client.get("/public")  # cached for visitors
    client.force_login(alice)
    page = client.get("/public").text
    assert "sign out [alice]" in page
    assert "sign in" not in page


def test_a_visitor_with_a_flash_message_sees_it(client, alice):
    client.get("/public")  # cached for visitors
    client.force_login(alice)
    response = client.post("/logout", follow=True)
    assert "You were logged out" in response.text


def test_a_read_cached_while_a_write_commits_is_not_served_after_it():
    computed = []

    def read():
        computed.append(len(computed) + 1)
        if len(computed) == 1:
            # A write commits while this read is still working from the older data.
            read_cache.invalidate()
        return f"read {len(computed)}"

    topics = (read_cache.MESSAGES,)
    assert read_cache.get_or_compute("key", read, topics=topics) == "read 1"
    # The first result was stored under the generation the write retired.
    assert read_cache.get_or_compute("key", read, topics=topics) == "read 2"
    assert read_cache.get_or_compute("key", read, topics=topics) == "read 2"


def test_a_follow_keeps_the_message_reads_and_a_message_keeps_the_follow_lists(
    client, alice, bob, django_assert_num_queries
):
    MessageFactory(author=alice, text="hello")
    for read in ("/public", "/msgs", "/fllws/alice"):
        client.get(read, headers=SIMULATOR)
    api_post(client, "/fllws/alice", {"follow": "bob"})
    with django_assert_num_queries(0):
        assert "hello" in client.get("/public").text
        assert api_get(client, "/msgs")[0]["content"] == "hello"
    assert api_get(client, "/fllws/alice") == {"follows": ["bob"]}
    api_post(client, "/msgs/bob", {"content": "news"})
    with django_assert_num_queries(0):
        assert api_get(client, "/fllws/alice") == {"follows": ["bob"]}
    assert "news" in client.get("/public").text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lookups(result: str) -> float:
    return read_cache.LOOKUPS.labels(result=result)._value.get()


def test_hits_and_misses_are_counted_for_prometheus(client):
    before = {result: _lookups(result) for result in ("hit", "miss")}
    client.get("/public")
    client.get("/public")
    client.get("/public")
    assert _lookups("miss") - before["miss"] == 1
    assert _lookups("hit") - before["hit"] == 2


def test_without_a_cache_server_nothing_is_looked_up_or_counted(client, settings, alice):
    settings.CACHES = {
        **settings.CACHES,
        "reads": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    before = {result: _lookups(result) for result in ("hit", "miss", "skipped")}
    MessageFactory(author=alice, text="first")
    assert "first" in client.get("/public").text
    api_post(client, "/msgs/alice", {"content": "second"})
    assert "second" in client.get("/public").text
    assert {result: _lookups(result) for result in before} == before


def test_a_cache_server_that_is_down_changes_nothing_a_user_sees(client, settings, monkeypatch):
    settings.CACHES = {
        **settings.CACHES,
        "reads": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05},
        },
    }
    monkeypatch.setattr(read_cache, "_failing_until", 0.0)
    MessageFactory(author=UserFactory(username="alice"), text="first")
    assert "first" in client.get("/public").text
    api_post(client, "/msgs/alice", {"content": "second"})
    assert "second" in client.get("/public").text
    assert [m["content"] for m in api_get(client, "/msgs")] == ["second", "first"]
    assert _lookups("skipped") > 0


@pytest.fixture
def redis_reads(settings):
    """The read cache on the machine's Redis (127.0.0.1:6379, database 15), as production
    runs it; skipped where no Redis server runs."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
    except OSError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    settings.CACHES = {
        **settings.CACHES,
        "reads": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"minitwit-test-{socket.gethostname()}",
        },
    }
    caches["reads"].clear()
    yield caches["reads"]
    caches["reads"].clear()


def test_on_redis_pages_are_shared_and_retired_on_writes(
    client, redis_reads, django_assert_num_queries
):
    MessageFactory(author=UserFactory(username="alice"), text="first")
    assert "first" in client.get("/public").text
    with django_assert_num_queries(0):
        assert "first" in client.get("/public").text
    api_post(client, "/msgs/alice", {"content": "second"})
    assert "second" in client.get("/public").text
    assert User.objects.count() == 1

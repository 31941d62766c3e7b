"""Several workers and replicas serve one database: simultaneous requests for the same
thing must end the way sequential ones would. Each thread has its own connection."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection

from timeline.models import Follow, User
from timeline.tests.factories import UserFactory

from .conftest import SimulatorClient, basic_auth

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def all_at_once(request) -> list:
    """Run `request(i)` in THREADS threads released together; return the responses."""
    barrier = threading.Barrier(THREADS)
    responses = [None] * THREADS
    # One request first, in this thread: the first handler to load the middleware creates
    # django-prometheus' metric singletons, and eight threads doing that at once race
    # (gunicorn loads the app once per worker before serving, so production never does).
    SimulatorClient().get("/latest")

    def run(i):
        try:
            client = SimulatorClient(basic_auth())
            barrier.wait(timeout=30)
            responses[i] = request(client, i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def test_simultaneous_registrations_of_one_name_let_exactly_one_through():
    body = {"username": "twin", "email": "twin@example.com", "pwd": "p"}
    responses = all_at_once(lambda client, i: client.post("/register", body))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [HTTPStatus.NO_CONTENT] + [HTTPStatus.BAD_REQUEST] * (THREADS - 1)
    refused = [r.json()["error_msg"] for r in responses if r.status_code == 400]
    assert set(refused) == {"The username is already taken"}
    assert User.objects.filter(username="twin").count() == 1


def test_simultaneous_registrations_of_look_alike_names_let_exactly_one_through():
    # "alice", and seven names that look like it: Cyrillic, fullwidth, Latin alpha, I and 1.
    names = ["alice", "аlice", "alіce", "ａlice", "aliсe", "ａｌｉｃｅ", "ɑlice", "a1ice"]
    assert len(set(names)) == THREADS
    responses = all_at_once(
        lambda client, i: client.post(
            "/register", {"username": names[i], "email": "a@example.com", "pwd": "p"}
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [HTTPStatus.NO_CONTENT] + [HTTPStatus.BAD_REQUEST] * (THREADS - 1)
    refused = {r.json()["error_msg"] for r in responses if r.status_code == 400}
    assert refused == {"The username looks too much like one that is already taken"}
    assert User.objects.count() == 1


def test_simultaneous_identical_follows_make_one_row():
    UserFactory(username="alice")
    UserFactory(username="bob")
    responses = all_at_once(lambda client, i: client.post("/fllws/alice", {"follow": "bob"}))
    assert [r.status_code for r in responses] == [HTTPStatus.NO_CONTENT] * THREADS
    assert Follow.objects.count() == 1


def test_simultaneous_messages_are_all_kept():
    UserFactory(username="alice")
    responses = all_at_once(
        lambda client, i: client.post(f"/msgs/alice?latest={i}", {"content": f"m{i}"})
    )
    assert [r.status_code for r in responses] == [HTTPStatus.NO_CONTENT] * THREADS
    texts = [m["content"] for m in SimulatorClient(basic_auth()).get("/msgs").json()]
    assert sorted(texts) == sorted(f"m{i}" for i in range(THREADS))
    # Whichever request came last, `latest` holds one of the values that were sent.
    assert SimulatorClient().get("/latest").json()["latest"] in range(THREADS)

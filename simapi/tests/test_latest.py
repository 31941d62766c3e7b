import threading
from http import HTTPStatus

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from simapi.latest_counter import latest_counter_value
from timeline import services
from timeline.models import Message, SimulatorState

from .conftest import SimulatorClient, basic_auth

pytestmark = pytest.mark.django_db


def latest(client) -> int:
    response = client.get("/latest")
    assert response.status_code == HTTPStatus.OK
    return response.json()["latest"]


def test_latest_is_minus_one_before_any_request(sim):
    assert sim.get("/latest").json() == {"latest": -1}


def test_a_requests_latest_is_what_get_latest_returns(sim, alice):
    assert sim.post("/msgs/alice?latest=17", {"content": "hi"}).status_code == 204
    assert latest(sim) == 17


def test_every_endpoint_records_latest(sim, alice, bob):
    requests = [
        lambda: sim.post("/register?latest=1", {"username": "c", "email": "c@x", "pwd": "p"}),
        lambda: sim.get("/msgs?latest=2"),
        lambda: sim.get("/msgs/alice?latest=3"),
        lambda: sim.post("/msgs/alice?latest=4", {"content": "x"}),
        lambda: sim.get("/fllws/alice?latest=5"),
        lambda: sim.post("/fllws/alice?latest=6", {"follow": "bob"}),
        lambda: sim.generic("HEAD", "/msgs?latest=7"),
    ]
    for expected, send in enumerate(requests, start=1):
        assert send().status_code < 300
        assert latest(sim) == expected


def test_the_last_value_received_wins_even_when_smaller(sim):
    sim.get("/msgs?latest=500")
    sim.get("/msgs?latest=3")
    assert latest(sim) == 3


def test_a_request_that_fails_still_counts_as_received(sim):
    assert sim.post("/msgs/nobody?latest=41", {"content": "x"}).status_code == 404
    assert latest(sim) == 41


@pytest.mark.parametrize(
    "value", ["abc", "1.5", "", "0x10", " 7", "٣", "²", "+7", "99999999999999999999999", "%00"]
)
def test_a_latest_that_is_not_an_integer_is_ignored(sim, value):
    sim.get("/msgs?latest=5")
    response = sim.get(f"/msgs?latest={value}")
    assert response.status_code == HTTPStatus.OK
    assert latest(sim) == 5


def test_the_whole_64_bit_range_is_stored(sim):
    sim.get(f"/msgs?latest={2**63 - 1}")
    assert latest(sim) == 2**63 - 1
    sim.get(f"/msgs?latest={-(2**63)}")
    assert latest(sim) == -(2**63)


def test_reading_latest_needs_no_credentials(sim, anonymous):
    sim.get("/msgs?latest=9")
    assert latest(anonymous) == 9


def test_an_anonymous_latest_is_not_recorded_even_on_the_open_endpoint(sim, anonymous):
    sim.get("/msgs?latest=9")
    assert anonymous.get("/latest?latest=1000").json() == {"latest": 9}
    assert latest(sim) == 9


def test_the_value_lives_in_the_database_not_in_the_process(sim):
    sim.get("/msgs?latest=1234")
    assert SimulatorState.objects.get(pk=1).latest == 1234


@pytest.mark.django_db(transaction=True)
def test_another_database_connection_sees_the_value(sim):
    # Another thread has its own connection, as another gunicorn worker or replica would.
    sim.get("/msgs?latest=77")
    seen = []

    def read():
        try:
            seen.append(latest_counter_value())
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [77]


def test_wrong_credentials_on_the_open_endpoint_record_nothing(sim):
    intruder = SimulatorClient(basic_auth("simulator", "guess"))
    assert intruder.get("/latest?latest=66").status_code == HTTPStatus.OK
    assert latest(sim) == -1


# The course's reference (minitwit_sim_api.py) reads `latest` with a default of -1, records
# anything else, and does so inside each operation's handler, never in GET /latest's.


def test_minus_one_is_never_recorded(sim):
    sim.get("/msgs?latest=5")
    assert sim.get("/msgs?no=1&latest=-1").status_code == HTTPStatus.OK
    assert latest(sim) == 5


def test_other_negative_values_are_recorded(sim):
    sim.get("/msgs?latest=-2")
    assert latest(sim) == -2


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/msgs"), ("PUT", "/msgs/alice"), ("PATCH", "/fllws/alice"), ("POST", "/msgs")],
)
def test_a_request_answered_405_records_nothing(sim, alice, method, path):
    sim.get("/msgs?latest=5")
    response = sim.generic(method, f"{path}?latest=603")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert latest(sim) == 5


def test_an_options_request_records_nothing(sim):
    sim.get("/msgs?latest=5")
    sim.generic("OPTIONS", "/msgs?latest=604")
    assert latest(sim) == 5


def test_get_latest_itself_records_nothing_even_for_the_simulator(sim):
    sim.get("/msgs?latest=5")
    assert sim.get("/latest?latest=9").json() == {"latest": 5}
    assert latest(sim) == 5


def test_of_a_repeated_latest_the_first_counts(sim):
    sim.get("/msgs?latest=11&latest=12")
    assert latest(sim) == 11
    sim.get("/msgs?latest=abc&latest=13")
    assert latest(sim) == 11


@pytest.mark.django_db(transaction=True)
def test_a_write_the_database_refuses_moves_latest_no_more_than_the_write(sim, alice, monkeypatch):
    # The write and its `latest` are one transaction: a simulator that retries after the
    # error finds `latest` where it was, not at the value of a write that never happened.
    sim.get("/msgs?latest=5")
    for name in ("_MESSAGE_INSERT", "_MESSAGE_INSERT_AS"):  # whichever the API uses
        broken = getattr(services, name).replace("flagged)", "no_such_column)")
        monkeypatch.setattr(services, name, broken)
    with pytest.raises(DatabaseError):
        sim.post("/msgs/alice?latest=6", {"content": "never stored"})
    monkeypatch.undo()
    assert latest(sim) == 5
    assert not Message.objects.filter(text="never stored").exists()


@pytest.mark.parametrize(
    ("path", "body", "round_trips"),
    [
        ("/msgs/alice?latest=7", {"content": "hello"}, 1),
        ("/fllws/alice?latest=7", {"follow": "bob"}, 2),
        ("/fllws/alice?latest=7", {"unfollow": "bob"}, 2),
    ],
)
def test_a_simulator_write_and_its_latest_take_one_or_two_round_trips_on_postgresql(
    sim, alice, bob, path, body, round_trips
):
    # Under load every round trip waits for the database process to be scheduled, so
    # their number is most of a write's latency. The write and its `latest` go together
    # (no BEGIN, no COMMIT of their own); a tweet looks its author up in its own insert,
    # a follow looks both users up first.
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no round trips")
    with CaptureQueriesContext(connection) as queries:
        assert sim.post(path, body).status_code == HTTPStatus.NO_CONTENT
    assert len(queries) == round_trips, [query["sql"] for query in queries]
    assert latest(sim) == 7

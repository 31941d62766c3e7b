"""Simulator traffic on /metrics counts the protocol's requests, not the pages beside it."""

from http import HTTPStatus

import pytest

from minitwit_project.tests.conftest import scrape

pytestmark = pytest.mark.django_db


def simulator_total() -> float:
    return sum(
        value
        for (name, _), value in scrape().items()
        if name == "minitwit_simulator_requests_total"
    )


def test_an_api_registration_counts_as_simulator_traffic(sim):
    before = simulator_total()
    response = sim.post("/register", {"username": "x", "email": "x@y", "pwd": "p"})
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert simulator_total() == before + 1


def test_sign_ups_and_the_api_docs_are_not_simulator_traffic(client):
    before = simulator_total()
    client.get("/register")
    client.post("/register", {"username": "y", "email": "y@z", "password": "p", "password2": "p"})
    client.get("/api/schema/")
    client.get("/api/docs/")
    assert simulator_total() == before

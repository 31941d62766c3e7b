from http import HTTPStatus

import pytest
from django.test import Client

from timeline.models import Follow, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def forged_client(alice):
    """A signed-in browser whose POSTs come from another site (no CSRF token)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_a_forged_post_cannot_post_a_message(forged_client):
    response = forged_client.post("/add_message", {"text": "forged"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.text
    assert not Message.objects.exists()


def test_a_forged_post_cannot_follow(forged_client, bob):
    assert forged_client.post("/bob/follow").status_code == HTTPStatus.FORBIDDEN
    assert not Follow.objects.exists()


def test_a_forged_post_cannot_sign_out(forged_client):
    assert forged_client.post("/logout").status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" in forged_client.session


def test_the_real_form_token_is_accepted(forged_client):
    page = forged_client.get("/")
    token = page.context["csrf_token"]
    response = forged_client.post("/add_message", {"text": "real", "csrfmiddlewaretoken": token})
    assert response.status_code == HTTPStatus.FOUND
    assert Message.objects.get().text == "real"

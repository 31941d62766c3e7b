"""Cross-site request forgery: state changes only from this site's own pages or from
clients that are not browsers, judged by the browser's Fetch Metadata and Origin headers
(CrossOriginProtectionMiddleware, the model of Go's CrossOriginProtection), not by tokens.

A forged request is one another site makes a signed-in visitor's browser send. SameSite=Lax
keeps the session cookie off most of them in current browsers, but not in every browser (nor
during the first two minutes of a new cookie in Chrome), so the server refuses them itself.
"""

from http import HTTPStatus

import pytest
from django.test import Client

from timeline.models import Follow, Message, User

pytestmark = pytest.mark.django_db

SITE = "http://testserver"

# What browsers send with a form that another site submits to us: current ones say
# cross-site in Sec-Fetch-Site; older ones (before Fetch Metadata) only send Origin, and
# sandboxed frames, data: URLs and some redirects send the opaque origin "null".
FORGERIES = {
    "fetch-metadata": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    "fetch-metadata-without-origin": {"Sec-Fetch-Site": "cross-site"},
    "same-site-subdomain": {"Sec-Fetch-Site": "same-site", "Origin": "http://evil.testserver"},
    "origin-only": {"Origin": "https://evil.example"},
    "null-origin": {"Origin": "null"},
    "null-origin-cross-site": {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
    "other-port": {"Origin": "http://testserver:8080"},
    "other-scheme": {"Origin": "https://testserver"},
}
# What this site's own pages send, and what a person typing an address sends.
OWN = {
    "fetch-metadata": {"Sec-Fetch-Site": "same-origin", "Origin": SITE},
    "origin-only": {"Origin": SITE},
    "typed-by-the-user": {"Sec-Fetch-Site": "none"},
}


@pytest.fixture(params=FORGERIES, ids=list(FORGERIES))
def forged_client(request, alice):
    """A signed-in browser whose requests another site sends."""
    client = Client(enforce_csrf_checks=True, headers=FORGERIES[request.param])
    client.force_login(alice)
    return client


@pytest.fixture(params=OWN, ids=list(OWN))
def own_client(request, alice):
    client = Client(enforce_csrf_checks=True, headers=OWN[request.param])
    client.force_login(alice)
    return client


@pytest.fixture
def curl(alice):
    """A client that is not a browser: neither header, as curl, requests and the course's
    tests send."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_a_forged_post_cannot_post_a_message(forged_client):
    response = forged_client.post("/add_message", {"text": "forged"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "it came from another site" in response.text
    assert not Message.objects.exists()


def test_a_forged_post_cannot_follow_or_unfollow(forged_client, alice, bob):
    assert forged_client.post("/bob/follow").status_code == HTTPStatus.FORBIDDEN
    assert not Follow.objects.exists()
    Follow.objects.create(follower=alice, followed=bob)
    assert forged_client.post("/bob/unfollow").status_code == HTTPStatus.FORBIDDEN
    assert Follow.objects.exists()


def test_a_forged_post_cannot_sign_out(forged_client):
    assert forged_client.post("/logout").status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" in forged_client.session


def test_a_forged_sign_up_or_sign_in_is_refused(forged_client):
    form = {"username": "mallory", "email": "m@x", "password": "p", "password2": "p"}
    forged_client.logout()
    assert forged_client.post("/register", form).status_code == HTTPStatus.FORBIDDEN
    assert not User.objects.filter(username="mallory").exists()
    login = {"username": "alice", "password": "secret"}
    assert forged_client.post("/login", login).status_code == HTTPStatus.FORBIDDEN
    assert "_auth_user_id" not in forged_client.session


def test_the_sites_own_forms_are_accepted(own_client):
    response = own_client.post("/add_message", {"text": "real"})
    assert response.status_code == HTTPStatus.FOUND
    assert Message.objects.get().text == "real"


def test_clients_that_are_not_browsers_are_accepted(curl, bob):
    assert curl.post("/add_message", {"text": "from a script"}).status_code == HTTPStatus.FOUND
    assert curl.post("/bob/follow").status_code == HTTPStatus.FOUND
    assert Message.objects.get().text == "from a script"
    assert Follow.objects.exists()


def test_no_page_carries_a_csrf_token_any_more(own_client):
    for path in ("/", "/add_message", "/alice"):
        assert "csrfmiddlewaretoken" not in own_client.get(path).text
    own_client.logout()
    for path in ("/register", "/login", "/public"):
        assert "csrfmiddlewaretoken" not in own_client.get(path).text


def test_session_cookies_stay_samesite_lax(client, alice):
    response = client.post("/login", {"username": "alice", "password": "secret"})
    assert response.cookies["sessionid"]["samesite"] == "Lax"
    assert response.cookies["sessionid"]["httponly"]


def test_a_trusted_origin_may_post(settings, alice):
    settings.CSRF_TRUSTED_ORIGINS = ["https://partner.example"]
    client = Client(
        enforce_csrf_checks=True,
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example"},
    )
    client.force_login(alice)
    assert client.post("/add_message", {"text": "ok"}).status_code == HTTPStatus.FOUND


# -- the admin keeps Django's token check on top ------------------------------------------


@pytest.fixture
def moderator_browser(db):
    moderator = User.objects.create_superuser("moderator", "mod@example.com", "modpass")
    browser = Client(enforce_csrf_checks=True, headers=OWN["fetch-metadata"])
    browser.force_login(moderator)
    return browser


def _flag(browser, message, **extra):
    return browser.post(
        "/admin/timeline/message/",
        {"action": "flag_selected", "_selected_action": [message.pk], **extra},
    )


def test_an_admin_post_from_the_site_without_its_token_is_refused(moderator_browser, alice):
    message = Message.objects.create(author=alice, text="hello")
    response = _flag(moderator_browser, message)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "security token is missing or out of date" in response.text
    message.refresh_from_db()
    assert not message.flagged


def test_an_admin_post_with_its_token_works_only_from_the_site(moderator_browser, alice):
    message = Message.objects.create(author=alice, text="hello")
    token = moderator_browser.get("/admin/timeline/message/").context["csrf_token"]
    forged = Client(enforce_csrf_checks=True, headers=FORGERIES["fetch-metadata"])
    forged.cookies = moderator_browser.cookies
    assert _flag(forged, message, csrfmiddlewaretoken=token).status_code == 403
    message.refresh_from_db()
    assert not message.flagged
    response = _flag(moderator_browser, message, csrfmiddlewaretoken=token)
    assert response.status_code == HTTPStatus.FOUND
    message.refresh_from_db()
    assert message.flagged


def test_the_admin_sign_in_form_still_carries_its_token(client):
    assert "csrfmiddlewaretoken" in client.get("/admin/login/").text

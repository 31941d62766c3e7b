"""The journeys the course's UI tests take, in our own words, over real HTTP with a plain
client (requests): forms posted without any token, sign-out, follow and unfollow through
the classic GET links, and the flash texts byte for byte as the classic templates render
them. Course teams run those tests against their MiniTwit; these keep us passing them."""

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


class Visitor:
    """One person's browser-less session against the live server."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path: str) -> str:
        response = self.session.get(self.base_url + path, timeout=10)
        assert response.status_code == 200, (path, response.status_code)
        return response.text

    def post(self, path: str, form: dict) -> str:
        response = self.session.post(self.base_url + path, data=form, timeout=10)
        assert response.status_code == 200, (path, response.status_code)
        return response.text

    def sign_up(self, name: str, password: str, repeat: str | None = None, email=None) -> str:
        return self.post(
            "/register",
            {
                "username": name,
                "password": password,
                "password2": password if repeat is None else repeat,
                "email": f"{name}@example.com" if email is None else email,
            },
        )

    def sign_in(self, name: str, password: str) -> str:
        return self.post("/login", {"username": name, "password": password})


@pytest.fixture
def visit(live_server):
    return lambda: Visitor(live_server.url)


def test_signing_up_reports_each_mistake_in_the_classic_words(visit):
    carol = visit()
    assert "You were successfully registered and can login now" in carol.sign_up("carol", "pw")
    assert "The username is already taken" in carol.sign_up("carol", "pw")
    assert "You have to enter a username" in carol.sign_up("", "pw")
    assert "You have to enter a password" in carol.sign_up("dave", "")
    assert "The two passwords do not match" in carol.sign_up("dave", "x", repeat="y")
    assert "You have to enter a valid email address" in carol.sign_up("dave", "pw", email="no")


def test_signing_in_and_out_through_the_classic_links(visit):
    carol = visit()
    carol.sign_up("carol", "pw")
    assert "You were logged in" in carol.sign_in("carol", "pw")
    # The classic sign-out is a plain link, which a client that is not a browser follows.
    assert "You were logged out" in carol.get("/logout")
    assert "Invalid password" in visit().sign_in("carol", "wrong")
    assert "Invalid username" in visit().sign_in("nobody", "pw")


def test_posted_messages_appear_escaped_on_the_public_timeline(visit):
    carol = visit()
    carol.sign_up("carol", "pw")
    carol.sign_in("carol", "pw")
    assert "Your message was recorded" in carol.post("/add_message", {"text": "plain words"})
    assert "Your message was recorded" in carol.post("/add_message", {"text": "<b>bold</b>"})
    # The classic site sends signed-out visitors from / to the public timeline.
    public = visit().get("/")
    assert "plain words" in public
    assert "&lt;b&gt;bold&lt;/b&gt;" in public


def test_following_through_links_changes_whose_messages_i_see(visit):
    foo, bar = visit(), visit()
    for person, name in ((foo, "foo"), (bar, "bar")):
        person.sign_up(name, "pw")
        person.sign_in(name, "pw")
        person.post("/add_message", {"text": f"words of {name}"})
    mine = bar.get("/")
    assert "words of bar" in mine and "words of foo" not in mine

    # The quotes exactly as the classic Jinja2 templates escape them.
    assert "You are now following &#34;foo&#34;" in bar.get("/foo/follow")
    assert "words of foo" in bar.get("/")
    assert "words of bar" not in bar.get("/foo")
    assert "words of foo" not in bar.get("/bar")

    assert "You are no longer following &#34;foo&#34;" in bar.get("/foo/unfollow")
    assert "words of foo" not in bar.get("/")

import csv
import html
import io
import re
from http import HTTPStatus
from importlib import import_module
from urllib.parse import quote, unquote

import pytest
import requests
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import resolve, reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from simapi.tests.conftest import basic_auth
from timeline import selectors, services
from timeline.admin import UserEditForm
from timeline.models import Follow, User
from timeline.usernames import client_normalised, confusable_key, validate_username

from .conftest import SHARED, build_legacy_db, werkzeug_hash
from .factories import MessageFactory, UserFactory

SCENARIO = SHARED / "minitwit_scenario.csv"

pytestmark = pytest.mark.django_db

NAMES = ["Roger Histand", "Ærø", "O'Brien", "名前", "50% off?", "a#b"]


@pytest.mark.parametrize("name", NAMES)
def test_profile_urls_work_for_any_allowed_name(client, name):
    MessageFactory(author=UserFactory(username=name), text="hello")
    url = "/" + quote(name)
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert "hello" in response.text
    # The author link on the public timeline leads to the same page.
    link = re.search(r'<strong><a href="([^"]+)">', client.get("/public").text).group(1)
    followed = client.get(html.unescape(link))
    assert followed.status_code == HTTPStatus.OK
    # Read from the page, not the template context: a visitor's second view of a page may
    # come from the read cache, which renders nothing.
    heading = re.search(r"<h2>(.*?)</h2>", followed.text).group(1)
    assert html.unescape(heading) == f"{name}'s Timeline"


@pytest.mark.parametrize("name", NAMES)
def test_following_works_for_any_allowed_name(client, alice, name):
    other = UserFactory(username=name)
    client.force_login(alice)
    response = client.post("/" + quote(name) + "/follow")
    assert response.status_code == HTTPStatus.FOUND
    assert Follow.objects.filter(follower=alice, followed=other).exists()


def test_usernames_are_case_sensitive(client):
    UserFactory(username="Dora")
    assert client.get("/dora").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/Dora").status_code == HTTPStatus.OK


def test_a_name_with_spaces_registers_and_signs_in(client):
    client.post(
        "/register",
        {
            "username": "Roger Histand",
            "email": "r@x.dk",
            "password": "]=)[X{Km{z",
            "password2": "]=)[X{Km{z",
        },
    )
    response = client.post(
        "/login", {"username": "Roger Histand", "password": "]=)[X{Km{z"}, follow=True
    )
    assert "You were logged in" in response.text


# -- a name must survive the trip through a URL --------------------------------------------

API = {"HTTP_AUTHORIZATION": basic_auth()}


def register_on_both(client, name):
    """Sign up `name` through the page and (as another name's twin) through the API; return
    the page's error and the API's error message (None when accepted)."""
    page = client.post(
        "/register", {"username": name, "email": "x@x", "password": "p", "password2": "p"}
    )
    error = re.search(r"<strong>Error:</strong> ([^<]*)<", page.text)
    page_error = html.unescape(error.group(1)) if error else None
    User.objects.filter(username=name).delete()
    api = client.post(
        "/register",
        {"username": name, "email": "x@x", "pwd": "p"},
        content_type="application/json",
        **API,
    )
    User.objects.filter(username=name).delete()
    return page_error, (api.json()["error_msg"] if api.status_code == 400 else None)


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_that_clients_normalise_away_are_refused_by_page_and_api(client, name):
    # Registering ".." used to succeed, after which /.. and /msgs/.. could never be reached.
    message = "The username cannot be used in a web address (browsers drop '.' and '..')"
    assert register_on_both(client, name) == (message, message)


@pytest.mark.parametrize("name", ["favicon.ico", "latest", "Public", "msgs", "admin", "health"])
def test_names_of_the_sites_own_paths_are_refused(client, name):
    assert register_on_both(client, name) == (
        "The username is already taken",
        "The username is already taken",
    )


@pytest.mark.parametrize("name", ["...", "a.", ".hidden", "%2e", "%2E%2e", "a\\b", "?", "#1"])
def test_names_that_only_resemble_dot_segments_are_fine_and_reachable(client, name):
    assert register_on_both(client, name) == (None, None)
    UserFactory(username=name)
    prepared = requests.Request("GET", "http://testserver" + reverse_profile(name)).prepare()
    assert client.get(prepared.path_url).context["profile_user"].username == name


def reverse_profile(name: str) -> str:
    return reverse("timeline:user", kwargs={"username": name})


PROFILE_ROUTES = ["timeline:user", "timeline:follow", "simapi:msgs_user", "simapi:fllws"]


@settings(max_examples=300, deadline=None)
@given(name=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12))
def test_every_accepted_name_survives_what_requests_does_to_its_urls(name):
    try:
        validate_username(name)
    except ValidationError:
        return
    for route in PROFILE_ROUTES:
        path = reverse(route, kwargs={"username": name})
        sent = requests.Request("GET", "http://testserver" + path).prepare().path_url
        match = resolve(unquote(sent))
        assert (match.view_name, match.kwargs["username"]) == (route, name), sent


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/..", "/"),
        ("/.", "/"),
        ("/a/../b", "/b"),
        ("/%2e%2E/follow", "/follow"),
        ("/x/.", "/x/"),
        ("/x/%2e", "/x/"),
        ("/.../", "/.../"),
        ("/%252e", "/%252e"),
    ],
)
def test_client_normalisation_removes_dot_segments_as_browsers_do(path, expected):
    assert client_normalised(path) == expected


# -- names that look like an existing one --------------------------------------------------

LOOKALIKES = [
    ("alice", "аlice"),  # Cyrillic а
    ("alice", "ａｌｉｃｅ"),  # fullwidth, the same after NFKC
    ("paypal", "𝔭𝒶ỿ𝕡𝕒ℓ"),  # mathematical letters
    ("modern", "rnodern"),  # rn looks like m
    ("Ian", "lan"),  # capital I and small l
    ("O0", "0O"),  # zero and capital O
]


@pytest.mark.parametrize(("existing", "new"), LOOKALIKES)
def test_a_name_that_looks_like_an_existing_one_is_refused_by_page_and_api(client, existing, new):
    UserFactory(username=existing)
    message = "The username looks too much like one that is already taken"
    assert register_on_both(client, new) == (message, message)
    assert not User.objects.filter(username=new).exists()


@pytest.mark.parametrize(("existing", "new"), [("alice", "Alice"), ("alice", "alíce"), ("a", "b")])
def test_names_that_merely_differ_in_case_or_accent_are_different_people(client, existing, new):
    UserFactory(username=existing)
    assert register_on_both(client, new) == (None, None)


def test_no_name_of_the_course_scenario_is_refused(client):
    if not SCENARIO.exists():
        pytest.skip(f"{SCENARIO} is absent")
    names = set()
    with open(SCENARIO, encoding="utf-8", newline="") as lines:
        for row in csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
            names.add(row[4])
            if row[3] in ("follow", "unfollow"):
                names.add(row[5])
    assert len(names) > 100
    for name in sorted(names):
        services.user_register(username=name, email="x@example.com", password="p")
    assert User.objects.count() == len(names)


def test_staff_cannot_add_or_rename_a_user_to_a_look_alike(client):
    admin_client = client
    admin_client.force_login(User.objects.create_superuser("moderator", "m@x", "pw"))
    UserFactory(username="alice")
    bob = UserFactory(username="bob")
    response = admin_client.post(
        "/admin/timeline/user/add/",
        {"username": "аlice", "email": "", "usable_password": "false"},
    )
    assert "The username looks too much like one that is already taken" in response.text
    assert not User.objects.filter(username="аlice").exists()
    change = admin_client.get(f"/admin/timeline/user/{bob.pk}/change/").context["adminform"]
    data = {**change.form.initial, "username": "ａlice", "date_joined_0": "2024-01-01"}
    data["date_joined_1"] = "00:00:00"
    data = {key: value for key, value in data.items() if value is not None}
    response = admin_client.post(f"/admin/timeline/user/{bob.pk}/change/", data)
    assert "The username looks too much like one that is already taken" in response.text
    bob.refresh_from_db()
    assert bob.username == "bob"


def test_a_renamed_user_takes_the_look_of_the_new_name():
    bob = UserFactory(username="bob")
    form = UserEditForm(data={"username": "robert"}, instance=bob)
    form.is_valid()
    assert bob.confusable_key == confusable_key("robert")


# -- every lookup by name goes through one selector ----------------------------------------


@pytest.mark.parametrize("name", ["nul\x00name", "lone\ud800surrogate", "x" * 151, ""])
def test_a_name_no_user_can_have_is_not_looked_up(django_assert_num_queries, name):
    UserFactory(username="x" * 150)
    with django_assert_num_queries(0):
        assert selectors.user_get(username=name) is None
        assert selectors.users_by_name(usernames=[name]) == {}


def test_signing_in_with_a_nul_in_the_name_is_refused_not_a_500(client):
    # On PostgreSQL this used to be a DataError: the sign-in queried users directly.
    response = client.post("/login", {"username": "ali\x00ce", "password": "x"})
    assert response.status_code == HTTPStatus.OK
    assert "<strong>Error:</strong> Null characters are not allowed." in response.text


def test_look_alike_accounts_of_a_legacy_database_are_kept_and_still_guard_their_look(
    tmp_path, client
):
    # They are existing people's accounts: importing both keeps their messages; the older
    # one's key keeps any new sign-up from looking like either.
    legacy = build_legacy_db(
        tmp_path / "legacy.db",
        users=[(1, "alice", "a@x", werkzeug_hash("x")), (2, "аlice", "b@x", werkzeug_hash("y"))],
    )
    out = io.StringIO()
    call_command("import_legacy", str(legacy), stdout=out, stderr=io.StringIO())
    assert "1 users look like an account imported or created before them" in out.getvalue()
    keys = dict(User.objects.values_list("username", "confusable_key"))
    assert keys == {"alice": confusable_key("alice"), "аlice": None}
    message = "The username looks too much like one that is already taken"
    assert register_on_both(client, "ａlice") == (message, message)


def test_the_migration_gives_existing_accounts_their_look_oldest_first():
    fill_keys = import_module("timeline.migrations.0003_user_confusable_key").fill_keys
    User.objects.bulk_create(
        [User(username=name) for name in ("alice", "bob", "аlice", "ａｌｉｃｅ", "carol")]
    )
    fill_keys(django_apps, None)
    keys = dict(User.objects.values_list("username", "confusable_key"))
    assert keys == {
        "alice": confusable_key("alice"),
        "bob": confusable_key("bob"),
        "аlice": None,
        "ａｌｉｃｅ": None,
        "carol": confusable_key("carol"),
    }


@pytest.mark.parametrize("term", ["ali\x00ce", "\ud800"])
@pytest.mark.parametrize("changelist", ["user", "message", "follow"])
def test_an_admin_search_for_text_nothing_can_hold_is_not_a_500(client, changelist, term):
    # Django's own search form refuses a NUL (PostgreSQL would refuse it in a query), and a
    # lone surrogate arrives as U+FFFD, which no lookup trips over.
    client.force_login(User.objects.create_superuser("moderator", "m@x", "pw"))
    MessageFactory(author=UserFactory(username="alice"))
    query = "?q=" + quote(term.encode("utf-8", "surrogatepass"))
    response = client.get(f"/admin/timeline/{changelist}/{query}")
    assert response.status_code == HTTPStatus.OK
    if "\x00" in term:
        assert "Null characters are not allowed." in response.text

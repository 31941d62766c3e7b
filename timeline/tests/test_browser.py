"""The main journeys in a real Chromium: what a person clicking through the site sees.

Skipped when /usr/bin/chromium (or CHROMIUM_PATH) is missing, unless REQUIRE_BROWSER=1 (CI
sets it, so a missing browser fails CI instead of silently skipping): the `chromium` and
`browser` fixtures of the conftest.py files.
"""

import os
from urllib.parse import unquote, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.urls import Resolver404, resolve, reverse

from timeline.models import Follow, Message, User
from timeline.usernames import validate_username

from .conftest import go, only_this_site, sign_in
from .factories import MessageFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    only_this_site(context, live_server)
    page = context.new_page()
    yield page
    context.close()


def flashes(page) -> str:
    return page.inner_text("ul.flashes")


def test_a_newcomer_signs_up_signs_in_posts_and_signs_out(page):
    page.goto("/")
    assert page.url.endswith("/public")
    go(page, "text=sign up")
    page.fill("input[name=username]", "Ærø Histand")
    page.fill("input[name=email]", "aero@example.com")
    page.fill("input[name=password]", "pw")
    page.fill("input[name=password2]", "pw")
    go(page, "input[value='Sign Up']")
    assert "You were successfully registered and can login now" in flashes(page)

    sign_in(page, "Ærø Histand", "pw")
    assert "You were logged in" in flashes(page)
    assert page.inner_text("h2") == "My Timeline"

    page.fill("input[name=text]", "<b>hello</b> from a browser")
    go(page, "input[value=Share]")
    assert "Your message was recorded" in flashes(page)
    first = page.locator("ul.messages li").first
    assert first.locator(".text").inner_text() == "<b>hello</b> from a browser"
    assert first.locator("strong a").inner_text() == "Ærø Histand"

    go(page, first.locator("strong a"))
    assert page.inner_text("h2") == "Ærø Histand's Timeline"
    assert "This is you!" in page.inner_text(".followstatus")

    go(page, "text=sign out [Ærø Histand]")
    assert "You were logged out" in flashes(page)
    assert page.is_visible("text=sign in")


def test_following_and_unfollowing_from_a_profile_changes_my_timeline(page):
    UserFactory(username="alice")
    bob = UserFactory(username="bob builder")
    MessageFactory(author=bob, text="can we fix it")
    sign_in(page, "alice")
    assert "can we fix it" not in page.inner_text("ul.messages")

    page.goto("/public")
    go(page, "ul.messages strong a")
    go(page, "button.follow")
    assert 'You are now following "bob builder"' in flashes(page)
    assert Follow.objects.filter(follower__username="alice").count() == 1
    go(page, "text=my timeline")
    assert "can we fix it" in page.inner_text("ul.messages")

    page.goto("/bob%20builder")
    go(page, "button.unfollow")
    assert 'You are no longer following "bob builder"' in flashes(page)
    go(page, "text=my timeline")
    assert "can we fix it" not in page.inner_text("ul.messages")


def test_registration_errors_are_shown_in_the_form(page):
    page.goto("/register")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=email]", "carol@example.com")
    page.fill("input[name=password]", "a")
    page.fill("input[name=password2]", "b")
    go(page, "input[value='Sign Up']")
    assert page.inner_text("div.error") == "Error: The two passwords do not match"
    assert page.input_value("input[name=username]") == "carol"


def test_older_and_newer_links_page_through_the_public_timeline(page):
    author = UserFactory()
    MessageFactory.create_batch(31, author=author)
    page.goto("/public")
    assert page.locator("ul.messages li").count() == 30
    go(page, "text=older messages")
    assert page.locator("ul.messages li").count() == 1
    go(page, "text=newer messages")
    assert page.locator("ul.messages li").count() == 30


def test_the_timeline_fits_a_phone_screen(browser, live_server):
    author = UserFactory(username="a rather long name for a small screen")
    MessageFactory(author=author, text="word " * 60 + "x" * 120)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    only_this_site(context, live_server)
    page = context.new_page()
    page.goto("/public")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the phone screen"
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "phone.png"))
    context.close()


def test_a_posted_message_is_stored_once(page):
    UserFactory(username="dora")
    sign_in(page, "dora")
    page.fill("input[name=text]", "only once")
    go(page, "input[value=Share]")
    page.reload()  # a reload after the redirect must not post again
    assert Message.objects.filter(text="only once").count() == 1


def test_signing_up_by_typing_into_the_inputs_in_page_order(page):
    # As the course's Selenium test does: every <input> of the page in document order gets
    # the next value, Return in the fifth (the submit button) sends the form, and the first
    # flash says exactly this. No hidden input may come first.
    page.goto("/register")
    inputs = page.locator("input")
    for index, value in enumerate(["Me", "me@some.where", "secure123", "secure123"]):
        inputs.nth(index).fill(value)
    with page.expect_navigation():
        inputs.nth(4).press("Enter")
    assert page.locator("ul.flashes li").first.inner_text() == (
        "You were successfully registered and can login now"
    )
    assert User.objects.get(username="Me").email == "me@some.where"


def test_a_follow_link_on_another_site_only_offers_the_button(browser, live_server):
    # A page on another site links to /bob/follow. The other site is the same server under
    # another host name (127.0.0.1 beside localhost): the browser calls the navigation
    # cross-site and still sends the Lax session cookie, so nothing may happen until I press.
    UserFactory(username="alice")
    UserFactory(username="bob")
    assert urlsplit(live_server.url).hostname == "localhost"
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    sign_in(page, "alice")
    page.goto(live_server.url.replace("localhost", "127.0.0.1") + "/public")
    page.evaluate(
        "url => { const a = document.createElement('a'); a.id = 'bait'; a.href = url;"
        " a.textContent = 'win a prize'; document.body.prepend(a); }",
        f"{live_server.url}/bob/follow",
    )
    go(page, "#bait")
    assert "This link came from another site, so nothing has changed yet." in page.content()
    assert not Follow.objects.exists()
    go(page, "input[value='Follow user']")
    assert 'You are now following "bob"' in flashes(page)
    assert Follow.objects.filter(follower__username="alice").count() == 1
    context.close()


def test_a_form_another_site_posts_to_us_is_refused(browser, live_server):
    UserFactory(username="alice")
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    sign_in(page, "alice")
    # The other site's page, served by the browser's router: one of our own pages under
    # another host name would refuse to post anywhere else (our CSP's form-action 'self').
    context.route(
        "http://elsewhere.example/**",
        lambda route: route.fulfill(content_type="text/html", body="<!doctype html><body>"),
    )
    page.goto("http://elsewhere.example/")
    page.evaluate(
        "url => { const f = document.createElement('form'); f.method = 'post'; f.action = url;"
        " const t = document.createElement('input'); t.name = 'text'; t.value = 'forged';"
        " f.append(t); document.body.append(f); f.submit(); }",
        f"{live_server.url}/add_message",
    )
    page.wait_for_load_state()
    page.wait_for_selector("h2")
    assert page.inner_text("h2") == "403 Forbidden"
    assert "it came from another site" in page.inner_text("div.error")
    assert not Message.objects.exists()
    context.close()


TRICKY_NAMES = [".", "..", "...", ".a", "a.", "%2e", "%2E%2e", ".%2e", "a\\b", "?", "#1", "a b"]
TRICKY_NAMES += ["名前", "Ærø", "50% off?", "x\u00a0y", "∕", "．．", "%", "%%", ";", "@", "~"]


def test_a_name_is_accepted_only_if_the_browsers_url_parser_keeps_it(browser):
    # The browser's own URL parser (WHATWG) is the judge of what reaches the server: a name
    # the site accepts must come back unchanged from every profile URL it appears in.
    page = browser.new_page()
    for name in TRICKY_NAMES:
        try:
            validate_username(name)
        except ValidationError:
            accepted = False
        else:
            accepted = True
        survives = True
        for route in ("timeline:user", "timeline:follow", "simapi:msgs_user", "simapi:fllws"):
            path = reverse(route, kwargs={"username": name})
            sent = page.evaluate("path => new URL(path, 'http://x.test').pathname", path)
            try:
                match = resolve(unquote(sent))
            except Resolver404:
                survives = False
                continue
            survives &= (match.view_name, match.kwargs.get("username")) == (route, name)
        if name in (".", ".."):
            assert not accepted and not survives, name
        else:
            assert accepted == survives, name
    page.close()


def test_the_main_pages_break_no_content_security_policy_rule(browser, live_server):
    """The pages satisfy their own Content-Security-Policy: Chromium reports no violation
    on the console (an inline script, style or event handler would be refused and
    reported there), the API docs page and the admin included."""
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    MessageFactory(author=bob, text="from bob")
    Follow.objects.create(follower=alice, followed=bob)
    User.objects.create_superuser("moderator", "mod@example.com", "modpass")
    context = browser.new_context(base_url=live_server.url)
    context.route("https://www.gravatar.com/**", lambda route: route.abort())
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        for path in ["/public", "/register", "/login", "/bob", "/api/docs/"]:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        page.wait_for_selector("[data-path='/fllws/{username}']")
        sign_in(page, "alice")
        assert "from bob" in page.inner_text("ul.messages")
        page.goto("/bob")
        page.goto(reverse("admin:login"))
        page.fill("input[name=username]", "moderator")
        page.fill("input[name=password]", "modpass")
        go(page, "input[type=submit]")
        for name in ["admin:index", "admin:timeline_message_changelist", "admin:timeline_user_add"]:
            page.goto(reverse(name))
            page.wait_for_load_state("networkidle")
        assert page.locator("#user_form").is_visible()
    finally:
        context.close()
    assert violations == []


MAIN_PAGES_SIGNED_OUT = ["/public", "/alice", "/login", "/register", "/no-such-user"]
MAIN_PAGES_SIGNED_IN = ["/", "/public", "/alice", "/bob", "/add_message", "/bob/follow"]


def test_every_image_on_every_main_page_loads_without_other_hosts(browser, live_server):
    alice = UserFactory(username="alice")
    MessageFactory(author=alice, text="from alice")
    MessageFactory(author=UserFactory(username="bob"), text="from bob")
    Follow.objects.create(follower=alice, followed=User.objects.get(username="bob"))
    context = browser.new_context(base_url=live_server.url)
    refused = only_this_site(context, live_server)
    page = context.new_page()
    checked = 0

    def check_images(path):
        nonlocal checked
        page.goto(path)
        page.wait_for_load_state("load")
        broken = page.evaluate(
            "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        assert broken == [], f"{path}: images that did not load: {broken}"
        checked += page.evaluate("document.images.length")

    for path in MAIN_PAGES_SIGNED_OUT:
        check_images(path)
    sign_in(page, "alice")
    for path in MAIN_PAGES_SIGNED_IN:
        check_images(path)
    assert checked >= 6  # the timelines did show avatars
    assert refused == [], f"pages asked other hosts for {refused}"
    context.close()

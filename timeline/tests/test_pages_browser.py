"""What a person sees on every main page, in Chromium, on a desktop and on a phone:
accessibility (axe-core), long names and words, visible focus, and screenshots for CI.

axe-core comes from npm, not from this repository: the tests look for
node_modules/axe-core/axe.min.js (`npm install --no-save axe-core@4`) or the file AXE_CORE_JS
names, and skip the axe check without it unless REQUIRE_AXE=1. Screenshots go to
SCREENSHOT_DIR when it is set.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

from timeline.models import Follow, User

from .conftest import only_this_site, sign_in
from .factories import MessageFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}
LONG_NAME = "N" * 150  # the longest name sign-up allows, without a space
LONG_WORD = "w" * 1000
SIGNED_OUT = ["/public", f"/{LONG_NAME}", "/login", "/register", "/no-such-page/here"]
SIGNED_IN = ["/", "/public", f"/{LONG_NAME}", "/bob", "/add_message", "/bob/follow"]

# axe findings we accept, each with its reason; everything else fails the test.
AXE_EXCEPTIONS: dict[str, str] = {}


def axe_source() -> str | None:
    path = Path(
        os.environ.get("AXE_CORE_JS", settings.BASE_DIR / "node_modules/axe-core/axe.min.js")
    )
    if path.is_file():
        return path.read_text()
    if os.environ.get("REQUIRE_AXE") == "1":
        pytest.fail(f"REQUIRE_AXE=1 but no axe-core at {path}")
    return None


@pytest.fixture
def site(live_server):
    """A signed-up LONG_NAME who follows bob, both with messages, one a very long word."""
    me = UserFactory(username=LONG_NAME)
    bob = UserFactory(username="bob")
    MessageFactory(author=me, text=f"a long word: {LONG_WORD} end")
    MessageFactory(author=bob, text="see https://example.org/page for more")
    Follow.objects.create(follower=me, followed=bob)
    return live_server


def visit_all(browser, live_server, viewport: str, check, *, bypass_csp: bool = False) -> None:
    """Call check(page, path, label) on every main page, signed out and then signed in.
    `bypass_csp` lets the check inject a test tool's script, which the pages' own
    Content-Security-Policy (tested in test_browser.py) rightly refuses."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport=VIEWPORTS[viewport],
        is_mobile=viewport == "phone",
        bypass_csp=bypass_csp,
    )
    only_this_site(context, live_server)
    page = context.new_page()
    try:
        for path in SIGNED_OUT:
            page.goto(path)
            check(page, path, f"{viewport} signed out")
        sign_in(page, LONG_NAME)
        assert page.url.endswith("/"), "sign-in failed"
        for path in SIGNED_IN:
            page.goto(path)
            check(page, path, f"{viewport} signed in")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_page_is_wider_than_the_screen_with_long_names_and_words(
    browser, site, viewport, tmp_path
):
    wide = []
    shots = os.environ.get("SCREENSHOT_DIR")

    def check(page, path, label):
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            wide.append(f"{label} {path[:40]}: {overflow}px too wide")
        if shots:
            name = f"{label} {path}".replace("/", "_").replace(" ", "-")[:80]
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)

    visit_all(browser, site, viewport, check)
    assert wide == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_axe_finds_no_accessibility_violations(browser, site, viewport):
    source = axe_source()
    if source is None:
        pytest.skip("axe-core is not installed (npm install --no-save axe-core@4)")
    found = []

    def check(page, path, label):
        page.add_script_tag(content=source)
        result = page.evaluate(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',"
            " 'best-practice']})"
        )
        for violation in result["violations"]:
            if violation["id"] not in AXE_EXCEPTIONS:
                targets = [node["target"] for node in violation["nodes"]][:3]
                found.append(f"{label} {path[:40]}: {violation['id']} {targets}")

    visit_all(browser, site, viewport, check, bypass_csp=True)
    assert found == [], "\n".join(found)


def test_every_control_shows_where_the_keyboard_focus_is(browser, site):
    context = browser.new_context(base_url=site.url)
    page = context.new_page()
    sign_in(page, LONG_NAME)
    outlines = {}
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        outlines[page.evaluate("document.activeElement.outerHTML.slice(0, 60)")] = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; })()"
        )
    context.close()
    assert any("Share" in element for element in outlines), outlines
    assert all(outlines.values()), outlines


def admin_page(browser, live_server, viewport: str):
    User.objects.create_superuser("moderator", "mod@example.com", "secret")
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(f"/{settings.ADMIN_PATH}login/")
    page.fill("input[name=username]", "moderator")
    page.fill("input[name=password]", "secret")
    with page.expect_navigation():
        page.click("input[type=submit]")
    return context, page


def test_the_admin_message_list_keeps_its_columns_on_screen(browser, site):
    context, page = admin_page(browser, site, "desktop")
    page.goto(f"/{settings.ADMIN_PATH}timeline/message/")
    right = page.evaluate(
        "Math.max(...[...document.querySelectorAll('#result_list th')]"
        ".map(th => th.getBoundingClientRect().right))"
    )
    assert right <= VIEWPORTS["desktop"]["width"], f"columns end at {right}px"
    assert page.locator("td.field-flag_mark").first.inner_text() == ""
    context.close()


@pytest.mark.parametrize("path", ["timeline/message/", "timeline/user/", "timeline/follow/"])
def test_no_admin_list_is_wider_than_a_phone(browser, site, path):
    MessageFactory(text=LONG_WORD)
    context, page = admin_page(browser, site, "phone")
    page.goto(f"/{settings.ADMIN_PATH}{path}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} is {overflow}px wider than the phone screen"
    context.close()

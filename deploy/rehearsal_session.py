"""A browser's visits during the rehearsal (deploy/rehearsal.sh), with requests and cookies.

    rehearsal_session.py start BASE_URL STATE_FILE
        sign up and sign in through the forms, keep the cookies
    rehearsal_session.py visit BASE_URL STATE_FILE [--post TEXT]
        come back with the same cookies: still signed in? optionally post a message and
        see it on the timeline, and check the messages posted before are still there

BASE_URL is nginx or one instance directly. Each visit records which instance answered
(nginx's X-Served-By header, rehearsal only) in STATE_FILE; `summary` prints them. Exits
non-zero, saying why, when the session does not hold.
"""

import argparse
import html
import json
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import requests

TIMEOUT = 10


class SessionBroken(Exception):
    pass


def _browser(base_url: str) -> requests.Session:
    """A session that posts forms the way a browser without Fetch Metadata headers does:
    with the page's Origin, which the cross-origin protection compares with the Host and
    scheme that reach Django (through nginx: $http_host and X-Forwarded-Proto)."""
    browser = requests.Session()
    parts = urlsplit(base_url)
    browser.headers["Origin"] = f"{parts.scheme}://{parts.netloc}"
    return browser


def _expect(response: requests.Response, status: int, what: str) -> requests.Response:
    if response.status_code != status:
        raise SessionBroken(f"{what}: expected {status}, got {response.status_code}")
    return response


def _signed_in(page: requests.Response, username: str) -> bool:
    return f"sign out [{html.escape(username)}]" in page.text


def start(base_url: str, state_file: Path) -> None:
    username = f"rehearsal-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    browser = _browser(base_url)
    _expect(browser.get(f"{base_url}/register", timeout=TIMEOUT), 200, "sign-up page")
    registered = browser.post(
        f"{base_url}/register",
        data={
            "username": username,
            "email": f"{username}@example.org",
            "password": password,
            "password2": password,
        },
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    _expect(registered, 302, "signing up")
    _expect(browser.get(f"{base_url}/login", timeout=TIMEOUT), 200, "sign-in page")
    signed_in = browser.post(
        f"{base_url}/login",
        data={"username": username, "password": password},
        timeout=TIMEOUT,
    )
    _expect(signed_in, 200, "signing in")
    if not _signed_in(signed_in, username) or "You were logged in" not in signed_in.text:
        raise SessionBroken("signing in did not sign in")
    state = {
        "username": username,
        "cookies": browser.cookies.get_dict(),
        "posted": [],
        "served_by": [signed_in.headers.get("X-Served-By", "")],
    }
    state_file.write_text(json.dumps(state))
    print(f"signed in as {username} through {base_url}")


def visit(base_url: str, state_file: Path, post: str | None) -> None:
    state = json.loads(state_file.read_text())
    browser = _browser(base_url)
    browser.cookies.update(state["cookies"])
    page = _expect(browser.get(f"{base_url}/", timeout=TIMEOUT), 200, "my timeline")
    served_by = [page.headers.get("X-Served-By", "")]
    if not _signed_in(page, state["username"]):
        raise SessionBroken(f"{base_url}: the session was lost (the page shows no sign-out)")
    if post:
        posted = browser.post(
            f"{base_url}/add_message",
            data={"text": post},
            timeout=TIMEOUT,
        )
        _expect(posted, 200, "posting a message")
        served_by.append(posted.headers.get("X-Served-By", ""))
        if "Your message was recorded" not in posted.text:
            raise SessionBroken(f"{base_url}: posting did not record the message")
        page = posted
        state["posted"].append(post)
    # The newest messages: older ones move to page 2 after 30.
    recent = state["posted"][-20:]
    missing = [text for text in recent if html.escape(text) not in page.text]
    if missing:
        raise SessionBroken(f"{base_url}: posted messages are missing: {missing}")
    state["served_by"].extend(served_by)
    state_file.write_text(json.dumps(state))
    print(f"{base_url}: still signed in, {len(state['posted'])} message(s) on the timeline")


def summary(state_file: Path) -> None:
    state = json.loads(state_file.read_text())
    through_nginx = [upstream for upstream in state["served_by"] if upstream]
    print(
        json.dumps(
            {
                "messages": len(state["posted"]),
                "answered_by": sorted(set(through_nginx)),
                "requests_through_nginx": len(through_nginx),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "visit"):
        command = sub.add_parser(name)
        command.add_argument("base_url")
        command.add_argument("state_file", type=Path)
        if name == "visit":
            command.add_argument("--post")
    sub.add_parser("summary").add_argument("state_file", type=Path)
    args = parser.parse_args()
    try:
        if args.command == "start":
            start(args.base_url.rstrip("/"), args.state_file)
        elif args.command == "visit":
            visit(args.base_url.rstrip("/"), args.state_file, args.post)
        else:
            summary(args.state_file)
    except (SessionBroken, requests.RequestException) as exc:
        print(f"browser session: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What makes a username valid, and when two names look alike.

A username is free text (the simulator sends "Roger Histand", "Ærø"), but it is also the
path segment of its profile (/<username>, /msgs/<username>, ...), and people read it. So:

- validate_username(): the rules every new name must pass (sign-up page, API, admin,
  import_legacy). Among them, the name must survive a round trip through reverse() and
  through what clients do to URLs before sending them: browsers and Python's requests
  remove "." and ".." path segments (browsers also "%2e"), so a user named ".." could
  register but nobody could ever reach /.. or /msgs/.. again.
- confusable_key(): a fixed-size digest of the Unicode TR39 skeleton of the NFKC form of a
  name. Two names with the same key look alike ("alice" and "аlice" with a Cyrillic а,
  "rn" and "m"); the User table keeps it unique, so a new name confusable with an existing
  one is refused even when two sign-ups race.
"""

import hashlib
import unicodedata
from urllib.parse import unquote

import icu
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

USERNAME_MAX_LENGTH = 150

# First path segments that the site serves before (or beside) its URLconf: probes answered
# by middleware, static files, the admin and the API docs. The URLconf's own names (public,
# login, latest, favicon.ico, ...) need no list: the round trip below refuses them.
RESERVED_USERNAMES = frozenset(
    {
        "add_message",
        "admin",
        "api",
        "fllws",
        "health",
        "latest",
        "login",
        "logout",
        "metrics",
        "msgs",
        "public",
        "ready",
        "register",
        "static",
    }
)

# The URLs a user's name appears in. Each must lead back to the same view and the same name.
PROFILE_ROUTES = (
    "timeline:user",
    "timeline:follow",
    "timeline:unfollow",
    "simapi:msgs_user",
    "simapi:fllws",
)
# Path segments that clients treat as "this directory" and "the parent directory": RFC 3986
# section 5.2.4 for every client, plus their percent-encoded forms for browsers (the WHATWG
# URL standard's "single-dot" and "double-dot" segments), compared case-insensitively.
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


def validate_username(value: str) -> None:
    """Raise ValidationError (with the message the pages and the API show) unless `value`
    may be a new username.

    A name must not be blank, start or end with whitespace, contain "/" or control, format
    or surrogate characters (NUL breaks PostgreSQL, the others are invisible), be one of the
    site's own path names, or change on its way through a URL.
    """
    if not value or not value.strip():
        raise ValidationError("You have to enter a username", code="required")
    if len(value) > USERNAME_MAX_LENGTH:
        raise ValidationError(
            f"The username can be at most {USERNAME_MAX_LENGTH} characters long", code="max_length"
        )
    if value != value.strip():
        raise ValidationError("The username cannot start or end with a space", code="invalid")
    if "/" in value or any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in value):
        raise ValidationError(
            "The username cannot contain '/' or control characters", code="invalid"
        )
    if value.lower() in RESERVED_USERNAMES or not _routes_to_itself(value):
        raise ValidationError("The username is already taken", code="reserved")
    if not _survives_client_normalisation(value):
        raise ValidationError(
            "The username cannot be used in a web address (browsers drop '.' and '..')",
            code="unaddressable",
        )


def _profile_urls(name: str) -> list[tuple[str, str]]:
    """(route, path) for each profile URL the URLconf in use has for `name`."""
    urls = []
    for route in PROFILE_ROUTES:
        try:
            urls.append((route, reverse(route, kwargs={"username": name})))
        except NoReverseMatch:
            continue
    return urls


def _routes_to_itself(name: str) -> bool:
    """Whether every profile URL of `name`, as reverse() writes it, resolves to its own view
    with the same name (and not, say, /favicon.ico or /latest)."""
    return all(_resolves_back(path, route, name) for route, path in _profile_urls(name))


def _survives_client_normalisation(name: str) -> bool:
    return all(
        _resolves_back(client_normalised(path), route, name) for route, path in _profile_urls(name)
    )


def _resolves_back(path: str, route: str, name: str) -> bool:
    try:
        match = resolve(unquote(path))
    except Resolver404:
        return False
    return match.view_name == route and match.kwargs.get("username") == name


def client_normalised(path: str) -> str:
    """The path a browser or Python's requests (urllib3) sends for `path`: dot segments
    removed as RFC 3986 section 5.2.4 says, with browsers' percent-encoded dots included."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment.lower() in _SINGLE_DOT:
            if last:
                output.append("")
        elif segment.lower() in _DOUBLE_DOT:
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


# ICU's SpoofChecker implements TR39's skeleton with the confusables data of the ICU
# release it was built against. Its const methods are thread-safe.
_spoof_checker = icu.SpoofChecker()


def confusable_key(name: str) -> str:
    """64 hex digits naming what `name` looks like: equal for confusable names.

    The skeleton itself can be many times longer than the name (a 150-character name in
    wide ligatures), too long for a unique index; its SHA-256 is not.
    """
    skeleton = _spoof_checker.getSkeleton(0, unicodedata.normalize("NFKC", name))
    return hashlib.sha256(skeleton.encode("utf-8", "surrogatepass")).hexdigest()

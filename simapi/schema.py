"""OpenAPI details drf-spectacular cannot infer on its own."""

from collections.abc import Iterable

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from timeline.models import MESSAGE_MAX_LENGTH
from timeline.usernames import USERNAME_MAX_LENGTH
from timeline.validators import EMAIL_MAX_LENGTH


class SimulatorAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents SimulatorAuthentication as HTTP Basic, so the docs page can send it."""

    target_class = "simapi.authentication.SimulatorAuthentication"
    name = "simulatorBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "The simulator's credentials (SIMULATOR_USERNAME / "
            "SIMULATOR_PASSWORD; the course simulator sends simulator / super_safe!).",
        }


# Request bodies, exactly as the endpoints take them. The serializers stay lenient on
# purpose (a missing username gets MiniTwit's own text, "You have to enter a username", not
# DRF's), so the schema cannot be derived from them; tests hold the two together
# (simapi/tests/test_schema.py, and schemathesis against a running server in .ci/run).


def _char_class(chars: Iterable[str]) -> str:
    """A regex character class body for `chars`, as \\uXXXX ranges (ECMA and Python agree)."""
    codes = sorted({ord(ch) for ch in chars})
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges
    )


# Python's whitespace (what str.strip() removes), which is not quite ECMA's \s.
_SPACE = _char_class(chr(code) for code in range(0x110000) if chr(code).isspace())
_CONTROL = _char_class(chr(code) for code in (*range(0x20), *range(0x7F, 0xA0)))
_CONTROL_BUT_LINES = _char_class(
    chr(code) for code in (*range(0x20), *range(0x7F, 0xA0)) if chr(code) not in "\t\n\r"
)


def _text(description: str, *, max_length: int | None = None, patterns: tuple = ()) -> dict:
    schema: dict = {"type": "string", "minLength": 1, "description": description}
    if max_length is not None:
        schema["maxLength"] = max_length
    if len(patterns) == 1:
        schema["pattern"] = patterns[0]
    elif patterns:
        schema["allOf"] = [{"pattern": pattern} for pattern in patterns]
    return schema


REGISTER_REQUEST = {
    "type": "object",
    "required": ["username", "email", "pwd"],
    "properties": {
        "username": _text(
            "Case-sensitive; no leading or trailing space, no '/' and no control characters. "
            "Also refused with a 400 and a reason: invisible format characters, the site's own "
            "path names (public, latest, favicon.ico, ...), '.' and '..', a name that is "
            "taken, and one that looks like a taken one (Unicode TR39 confusables).",
            max_length=USERNAME_MAX_LENGTH,
            patterns=(f"^[^/{_SPACE}](?:[^/]*[^/{_SPACE}])?$", f"^[^{_CONTROL}]*$"),
        ),
        "email": _text(
            'Must contain "@"; no control characters.',
            max_length=EMAIL_MAX_LENGTH,
            patterns=("@", f"^[^{_CONTROL}]*$"),
        ),
        "pwd": _text("Any text without a NUL character.", patterns=("^[^\\u0000]*$",)),
    },
}
MESSAGE_REQUEST = {
    "type": "object",
    "required": ["content"],
    "properties": {
        "content": _text(
            "Stored exactly as sent: not only whitespace, no control characters other than "
            "newline, carriage return and tab.",
            max_length=MESSAGE_MAX_LENGTH,
            patterns=(f"[^{_SPACE}]", f"^[^{_CONTROL_BUT_LINES}]*$"),
        ),
    },
}
_USERNAME_REFERENCE = _text("A username.", patterns=("^[^\\u0000]*$",))
FOLLOW_REQUEST = {
    "type": "object",
    "description": 'Exactly one of "follow" and "unfollow".',
    "properties": {"follow": _USERNAME_REFERENCE, "unfollow": _USERNAME_REFERENCE},
    "oneOf": [{"required": ["follow"]}, {"required": ["unfollow"]}],
}


# Query parameters that accept an empty value: `?no=` means the default, and `?latest=` is
# ignored like any other value that is not an integer (as the course's reference does).
EMPTY_VALUE_PARAMETERS = frozenset({"no", "latest"})

# /register is also the HTML sign-up page (simapi/urls.py): a GET there
# is the page, not an operation of the protocol, but the resource answers it.
SIGN_UP_PAGE = {
    "operationId": "register_page",
    "summary": "The HTML sign-up page (not part of the simulator's protocol)",
    "description": "What a browser gets. Posting its form (application/x-www-form-urlencoded "
    "or multipart/form-data) signs up through the same rules as the JSON POST.",
    "tags": ["register"],
    "security": [],
    "responses": {
        "200": {
            "description": "The page.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
}


def complete_schema(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook for what the views' annotations cannot say:
    every request body the API reads is required (raw schemas, which the views use, are
    marked optional by default), `no` and `latest` accept an empty value, and GET /register
    is the sign-up page."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in EMPTY_VALUE_PARAMETERS:
                    parameter["allowEmptyValue"] = True
    if "/register" in result.get("paths", {}):
        result["paths"]["/register"] = {"get": SIGN_UP_PAGE, **result["paths"]["/register"]}
    return result

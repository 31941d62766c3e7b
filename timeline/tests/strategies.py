"""Hypothesis strategies for hostile input: text and integers nobody would type on purpose."""

from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Characters that have broken web applications: NUL (PostgreSQL refuses it), lone surrogates
# (not encodable as UTF-8), right-to-left marks and overrides, zero-width and other format
# characters, the replacement character, line and paragraph separators, combining marks,
# full-width and mathematical look-alikes, and what URLs and HTML treat specially.
SPECIAL = [
    "\x00", "\ud800", "\udfff", "\u200f", "\u202e", "\u2066", "\u200b", "\ufeff", "\ufffd",
    "\u2028", "\u0301", "ａ", "𝔞", "а", "\x07", "\x7f", "\x85", "\t", "\n", "\r", " ", "\xa0",
    "/", "\\", ".", "..", "%", "%2e", "?", "#", "&", "=", "+", "<", ">", '"', "'", "²", "٣",
]  # fmt: skip

_piece = st.one_of(st.characters(), st.sampled_from(SPECIAL))
# Strings of up to 40 pieces, plus very long ones: 10,000 characters and just around it.
hostile_text = st.one_of(
    st.lists(_piece, max_size=40).map("".join),
    st.builds(
        lambda piece, count: piece * count,
        st.sampled_from(["x", "é", "\u202e", "名", "𝔞", " "]),
        st.integers(min_value=9_990, max_value=10_010),
    ),
)
# Integers as text, the way they arrive in a query string: any size and sign, and the
# look-alikes that one-off parsers accept.
hostile_integer = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    hostile_text,
    st.sampled_from(["", "-1", "+7", " 7", "7.0", "1_000", "²", "٣", "1e3", "0x10", "-0"]),
)
# Values of a JSON field: mostly text, sometimes another JSON type.
json_value = st.one_of(
    hostile_text,
    hostile_text,
    st.none(),
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)

# Each example is a full request through the Django stack; these counts keep every
# property test to a few seconds while still reaching the special characters often.
HOSTILE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def urlencoded(fields: dict[str, str]) -> bytes:
    """A form body the way a client that does not check its text would send it: a lone
    surrogate becomes bytes that are not UTF-8."""
    return b"&".join(
        quote_from_bytes(name.encode()).encode()
        + b"="
        + quote_from_bytes(value.encode("utf-8", "surrogatepass")).encode()
        for name, value in fields.items()
    )


def is_utf8_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

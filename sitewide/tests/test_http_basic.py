"""HTTP Basic credentials, as the simulator API and /metrics both read them."""

import base64

import pytest

from sitewide.http_basic import basic_credentials, credentials_match


def header(raw: bytes, scheme: bytes = b"Basic") -> bytes:
    return scheme + b" " + base64.b64encode(raw)


def test_a_basic_header_gives_username_and_password():
    assert basic_credentials(header(b"simulator:super_safe!")) == (b"simulator", b"super_safe!")


def test_the_password_may_contain_colons_and_the_scheme_any_case():
    assert basic_credentials(header(b"user:a:b", b"bAsIc")) == (b"user", b"a:b")


def test_a_header_given_as_text_reads_the_same():
    text = header("pæssword:x".encode()).decode()
    assert basic_credentials(text) == ("pæssword".encode(), b"x")


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"Bearer abc",
        b"Basic",
        b"Basic not base64!",
        header(b"no colon at all"),
        "Basic ünïcode",
    ],
)
def test_anything_else_is_no_credentials(value):
    assert basic_credentials(value) is None


def test_only_the_configured_account_matches():
    assert credentials_match((b"simulator", b"pw"), "simulator", "pw")
    assert not credentials_match((b"simulator", b"wrong"), "simulator", "pw")
    assert not credentials_match((b"someone", b"pw"), "simulator", "pw")
    assert not credentials_match(None, "simulator", "pw")


def test_non_ascii_credentials_are_compared_as_utf8():
    assert credentials_match(("pæ".encode(), "ß".encode()), "pæ", "ß")

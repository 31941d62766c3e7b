"""Every integer that arrives as text is read by timeline.parsing.parse_int: ASCII digits and
an optional minus sign, nothing else. `str.isdigit()` took "²" as a digit and `int()` then
failed on it: a 500 on `/public?page=²` and a traceback in import_legacy."""

import io
import re
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from timeline.hashers import WerkzeugPBKDF2Hasher
from timeline.models import Message, User
from timeline.parsing import MAX_DIGITS, parse_int

from .conftest import LEGACY_USERS, T0, build_legacy_db
from .factories import UserFactory

# What other parsers take for numbers: superscripts and other "digits" that str.isdigit()
# accepts, digits of other scripts and fullwidth ones that int() accepts, and int()'s and
# float()'s leniencies (spaces, "+", "_", decimal points, exponents, hex, special values).
NOT_INTEGERS = ["²", "¹²", "٣", "١٢", "７", "𝟖", " 7", "7 ", "\t7", "+7", "1_000", "7.0", "1e3"]
NOT_INTEGERS += ["0x10", "", "-", "--1", "- 1", "nan", "inf", "7\n", "9" * (MAX_DIGITS + 1)]


@pytest.mark.parametrize("text", NOT_INTEGERS)
def test_only_ascii_digits_are_an_integer(text):
    assert parse_int(text) is None


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("7", 7), ("007", 7), ("-12", -12), ("9" * 30, int("9" * 30))]
)
def test_plain_integers_are_read(text, value):
    assert parse_int(text) == value


def test_bounds_are_inclusive_and_values_outside_them_are_refused():
    assert parse_int("1", minimum=1, maximum=3) == 1
    assert parse_int("3", minimum=1, maximum=3) == 3
    assert parse_int("0", minimum=1) is None
    assert parse_int("4", maximum=3) is None


@pytest.mark.parametrize("value", [None, 7, 7.0, b"7", ["7"]])
def test_anything_but_text_is_not_an_integer(value):
    assert parse_int(value) is None


@given(st.text(max_size=30))
def test_any_text_is_either_refused_or_read_back_exactly(text):
    value = parse_int(text)
    if re.fullmatch(r"-?[0-9]+", text, flags=re.ASCII):
        assert value == int(text)
    else:
        assert value is None


@given(st.integers())
def test_every_integer_written_in_ascii_is_read_back(number):
    assert parse_int(str(number)) == number


# -- where integers arrive ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["²", "٣", " 2", "+2", "2.0", "1_0"])
@pytest.mark.parametrize("path", ["/public", "/dora", "/"])
def test_a_page_number_that_only_looks_like_one_is_a_400_with_a_reason(client, path, page):
    client.force_login(UserFactory(username="dora"))
    response = client.get(path, {"page": page})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "The page number must be a whole number" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("flagged", "²", "invalid flagged value"),
        ("flagged", "٠", "invalid flagged value"),
        ("flagged", 1.5, "invalid flagged value"),
        ("pub_date", "١٥٨٠٩٨٩٤٢٨", "invalid pub_date"),
        ("pub_date", "nan", "invalid pub_date"),
    ],
)
def test_a_legacy_row_with_a_lookalike_number_is_counted_and_the_import_goes_on(
    tmp_path, column, value, reason
):
    flagged = value if column == "flagged" else 0
    pub_date = value if column == "pub_date" else T0
    legacy = build_legacy_db(
        tmp_path / "legacy.db",
        users=LEGACY_USERS[:1],
        messages=[(10, 1, "odd number", pub_date, flagged), (11, 1, "fine", T0, "1")],
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 rows could not be imported") as failure:
        call_command("import_legacy", str(legacy), stdout=io.StringIO(), stderr=err)
    assert failure.value.returncode == 3
    assert f"Skipped 1 messages: {reason}" in err.getvalue()
    assert User.objects.count() == 1
    assert list(Message.objects.values_list("pk", "flagged")) == [(11, True)]


@pytest.mark.parametrize("rounds", ["١٠٠٠", "²", "0", "99999999999"])
def test_a_legacy_hash_with_an_odd_iteration_count_never_verifies(rounds):
    # An imported Werkzeug hash names its own PBKDF2 rounds: a look-alike number is not one,
    # and an absurd count would hold a worker for minutes at every sign-in.
    encoded = WerkzeugPBKDF2Hasher.from_werkzeug(f"pbkdf2:sha256:{rounds}$salt$abcdef")
    assert WerkzeugPBKDF2Hasher().verify("secret", encoded) is False

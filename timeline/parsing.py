"""The one parser for integers that arrive as text: URLs, forms, headers, legacy rows,
command-line arguments and environment variables.

`str.isdigit()` and `int()` disagree about what a number is: "²" is a digit to the first
and not a number to the second (a ValueError, and so a 500 where a view trusted
`isdigit()`), while `int()` alone also takes " 7", "+7", "1_000" and Arabic-Indic "٣".
Every integer in MiniTwit is written with the ASCII digits 0-9, so that is all this accepts.
"""

import re

# An optional minus sign and ASCII digits, nothing else. `re.ASCII` keeps `\d` out of it:
# with it or without, [0-9] never matches "²" or "٣".
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
# Python refuses to convert longer digit strings (sys.int_info.default_max_str_digits) with
# a ValueError; no integer this site reads comes anywhere near it.
MAX_DIGITS = 4300


def parse_int(
    text: object, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """The integer `text` spells, or None.

    `text` must be a str of ASCII digits with an optional leading "-" (no spaces, "+", "_",
    decimal point or non-ASCII digits) of at most MAX_DIGITS digits, and its value must lie
    within [minimum, maximum] where those are given. Anything else, including a non-str, is
    None: callers decide whether that is a 400, a skipped row or an ignored value.
    """
    if not isinstance(text, str) or not _INTEGER.fullmatch(text):
        return None
    if len(text.removeprefix("-")) > MAX_DIGITS:
        return None
    value = int(text)
    if minimum is not None and value < minimum:
        return None
    if maximum is not None and value > maximum:
        return None
    return value

"""Rules for the text MiniTwit accepts, one policy per field, shared by the pages (Django
forms in forms.py), the simulator API (its serializers) and the services that store it.

Two layers, applied in this order by both interfaces:

1. The text itself (TEXT_VALIDATORS and the length limits): no NUL, no lone surrogate, no
   more characters than the field holds. With the texts Django's and DRF's own validators
   use, so a page and the API say the same thing. Nothing that breaks these rules reaches
   a query: PostgreSQL refuses NUL, psycopg cannot encode a lone surrogate.
2. MiniTwit's own rules (services.py and usernames.py), in the original MiniTwit's order
   and with its texts ("You have to enter a username", ...).
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

EMAIL_MAX_LENGTH = 254
# Longer than any password a password manager generates (Bitwarden and 1Password stop at
# 128, KeePass at a few thousand), short enough that hashing it costs nothing extra. A
# longer one is refused before it is hashed: unbounded, a 1 MB password was a megabyte of
# Argon2 input per request.
PASSWORD_MAX_LENGTH = 4096
PASSWORD_TOO_LONG = f"The password can be at most {PASSWORD_MAX_LENGTH} characters long"


def prohibit_surrogates(value: str) -> None:
    """Refuse lone surrogates (U+D800-U+DFFF): a JSON string can carry one ("\\ud800"), but it
    is not a character and cannot be stored as UTF-8. DRF's validator's text."""
    for ch in str(value):
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValidationError(
                f"Surrogate characters are not allowed: U+{ord(ch):X}.",
                code="surrogate_characters_not_allowed",
            )


# Django's NUL validator says "Null characters are not allowed.", as DRF's does.
TEXT_VALIDATORS: list[Callable[[Any], None]] = [
    ProhibitNullCharactersValidator(),
    prohibit_surrogates,
]


def is_text(value: str) -> bool:
    """Whether `value` passes TEXT_VALIDATORS."""
    try:
        for validator in TEXT_VALIDATORS:
            validator(value)
    except ValidationError:
        return False
    return True

"""The HTML forms (sign up, sign in, post a message), read as Django forms.

A form checks what the text itself must be before anything is looked up or stored, with the
texts the simulator API uses for the same fields (validators.py): no NUL, no lone
surrogate, no more characters than the field holds, and a body that is text in its
charset. Django decodes form bodies leniently, turning bytes that are not UTF-8 into U+FFFD;
the API refuses them, so the forms do too. MiniTwit's own rules (and their order and texts)
stay in the services, which both interfaces call.
"""

from urllib.parse import unquote_to_bytes

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from .models import MESSAGE_MAX_LENGTH
from .usernames import USERNAME_MAX_LENGTH
from .validators import EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG, TEXT_VALIDATORS

NOT_TEXT = "The form was not sent as UTF-8 text."
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _text(max_length: int | None = None, too_long: str = "") -> forms.CharField:
    # Not required and not stripped: an empty field gets the service's classic text ("You
    # have to enter a username"), and passwords and messages keep their spaces.
    return forms.CharField(
        required=False,
        strip=False,
        max_length=max_length,
        validators=TEXT_VALIDATORS,
        error_messages={"max_length": too_long},
    )


class MiniTwitForm(forms.Form):
    """A form bound to a request's POST body, refusing a body that is not text."""

    def __init__(self, request: HttpRequest):
        self.undecodable = request.method == "POST" and not body_is_text(request)
        super().__init__(request.POST if request.method == "POST" else None)

    def clean(self):
        if self.undecodable:
            raise ValidationError(NOT_TEXT, code="encoding")
        return super().clean()

    @property
    def refused_outright(self) -> bool:
        """Whether the request is bad in itself (a 400), not a refusal MiniTwit words on its
        page with a 200 as the original does: a body that is not text, or a password longer
        than any account can have (PASSWORD_MAX_LENGTH)."""
        if self.undecodable:
            return True
        return self.is_bound and any(
            self.has_error(name, "max_length")
            for name in ("password", "password2")
            if name in self.fields
        )

    def first_error(self) -> str:
        """The one message the page shows, as the original MiniTwit shows one at a time:
        the body's own problem first, then the fields' in the order they appear; "" for a
        valid form."""
        for name in ("__all__", *self.fields):
            if name in self.errors:
                # ErrorList[i] is the message text (Django's ErrorList.__getitem__); the stubs
                # give the type of what the list stores.
                return self.errors[name][0]  # type: ignore[return-value]
        return ""


def body_is_text(request: HttpRequest) -> bool:
    """Whether a form body decodes, in its declared charset, without replacing anything.

    Must run before request.POST is read: Django parses a multipart body straight from the
    stream, after which the raw bytes are gone. Field names and the separators around the
    values are ASCII, so the whole body decodes if and only if every field does.
    """
    if request.content_type not in FORM_CONTENT_TYPES:
        return True
    body = request.body
    if request.content_type == "application/x-www-form-urlencoded":
        body = unquote_to_bytes(body.replace(b"+", b" "))
    try:
        body.decode(request.encoding or settings.DEFAULT_CHARSET)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


class SignUpForm(MiniTwitForm):
    username = _text(
        USERNAME_MAX_LENGTH, f"The username can be at most {USERNAME_MAX_LENGTH} characters long"
    )
    email = _text(EMAIL_MAX_LENGTH, "You have to enter a valid email address")
    password = _text(PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG)
    password2 = _text(PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG)


class SignInForm(MiniTwitForm):
    # A name longer than any username cannot belong to an account.
    username = _text(USERNAME_MAX_LENGTH, "Invalid username")
    password = _text(PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG)


class MessageForm(MiniTwitForm):
    text = _text(
        MESSAGE_MAX_LENGTH, f"A message can be at most {MESSAGE_MAX_LENGTH} characters long"
    )

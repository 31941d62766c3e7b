"""Small input and output serializers, one per shape the protocol exchanges.

They only check shapes and types; MiniTwit's rules (and their texts) live in
timeline/services.py, which the web UI shares.
"""

from rest_framework import serializers

from timeline.parsing import parse_int
from timeline.validators import PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG

from .parsing import ProtocolText

DEFAULT_NO = 100
# Large enough for `manage.py simulate --verify` to read back every user's messages and
# follows (the course scenario's busiest user has 769 messages; nobody follows more than
# 200), small enough that one request cannot ask the server for a whole table.
MAX_NO = 10_000


class WholeNumberField(serializers.IntegerField):
    """DRF's IntegerField read with timeline.parsing.parse_int: ASCII digits only.

    DRF's own parsing is Python's int(), which also takes " 7", "7.0", "1_000" and "٣".
    """

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        value = data if type(data) is int else parse_int(data)
        if value is None:
            self.fail("invalid")
        return value


class NoQuerySerializer(serializers.Serializer):
    no = WholeNumberField(
        required=False,
        default=DEFAULT_NO,
        min_value=0,
        help_text=f"How many to return (default {DEFAULT_NO}); values above {MAX_NO} "
        f"return {MAX_NO}.",
        error_messages={
            "invalid": "no must be a whole number.",
            "min_value": "no cannot be negative.",
            "max_string_length": "no must be a whole number.",
        },
    )

    def validate_no(self, value: int) -> int:
        return min(value, MAX_NO)


class LatestQuerySerializer(serializers.Serializer):
    """Documents `?latest=` (SimulatorAPIView reads it). Any text is accepted, as by the
    course's reference: only a 64-bit integer other than -1 is recorded, anything else is
    ignored and the request proceeds, so the schema types it as a string."""

    latest = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The simulator's id for this request. Recorded for GET /latest when it is "
        "a 64-bit integer in ASCII digits other than -1 and the request is authorized and "
        "reaches an operation (not a 405); any other value is ignored.",
    )


class LatestOutputSerializer(serializers.Serializer):
    latest = serializers.IntegerField(
        help_text="The last `latest` an authorized request carried, or -1 before any."
    )


def _needed_text(help_text: str, **limits) -> ProtocolText:
    # Optional to DRF so that a missing field gets the original sign-up texts from
    # services.user_register ("You have to enter a username"), not DRF's.
    return ProtocolText(
        required=False, allow_blank=True, allow_null=True, default="", help_text=help_text, **limits
    )


class RegisterInputSerializer(serializers.Serializer):
    username = _needed_text(
        "Needed. 1-150 characters; case-sensitive; no leading or trailing space, "
        '"/" or control characters.'
    )
    email = _needed_text('Needed. Must contain "@".')
    # Checked here, before services.user_register hashes it.
    pwd = _needed_text(
        f"Needed. Any non-empty text of at most {PASSWORD_MAX_LENGTH} characters.",
        max_length=PASSWORD_MAX_LENGTH,
        error_messages={"max_length": PASSWORD_TOO_LONG},
    )


class MessageInputSerializer(serializers.Serializer):
    content = ProtocolText(allow_blank=True, help_text="1 to 1000 characters.")


class MessageOutputSerializer(serializers.Serializer):
    content = serializers.CharField(source="text")
    pub_date = serializers.DateTimeField(
        help_text="When the message was posted: RFC 3339 date-time in UTC, with "
        "microseconds, e.g. 2026-03-01T12:00:00.123456Z."
    )
    user = serializers.CharField(source="author.username", help_text="The author's username.")


class FollowInputSerializer(serializers.Serializer):
    follow = ProtocolText(required=False, help_text="Username to start following.")
    unfollow = ProtocolText(required=False, help_text="Username to stop following.")

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError(
                'Give exactly one of "follow" or "unfollow", with a username.'
            )
        return attrs


class FollowsOutputSerializer(serializers.Serializer):
    follows = serializers.ListField(
        child=serializers.CharField(),
        help_text="Usernames this user follows, in the order they were followed.",
    )

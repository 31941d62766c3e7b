"""How the simulator API reads requests: JSON bodies within the site's size limit, and
JSON answers whatever `Accept` says; ProtocolText takes the protocol's strings as sent."""

from django.conf import settings
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from .errors import PayloadTooLarge


class SimulatorJSONParser(JSONParser):
    """DRF's JSON parser with the limits it lacks.

    DRF reads the body straight from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE is
    never applied; and `json` raises RecursionError (not ValueError) on deeply nested
    arrays, which DRF would turn into a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(raw.decode(encoding), parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc


class AlwaysJSON(DefaultContentNegotiation):
    """The protocol has one representation: answer JSON whatever `Accept` says, rather
    than a 406 to a client that sends an unusual header."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProtocolText(serializers.CharField):
    """A JSON string, taken exactly as sent.

    DRF's CharField would trim whitespace (changing passwords and messages) and turn numbers
    into strings; the protocol's fields are strings, so anything else is a 400.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

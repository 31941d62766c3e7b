"""Logs as one JSON object per line, each stamped with the id of the request being served.

Plain standard library on purpose: gunicorn's master process loads this formatter too (see
gunicorn.conf.py) before Django is set up, so nothing here may import Django.

Why our own formatter rather than python-json-logger: that library copies every `extra`
attribute into the line, and Django passes the request object itself as an extra
(`django.request`), whose text includes the query string. Here only simple values become
fields, so nothing reaches a log line by accident.
"""

import contextvars
import json
import logging
import re
import traceback
import uuid
from datetime import UTC, datetime

# The id of the request the current thread is serving; None outside requests.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
# Errors that Django reports on `django.request` while a request is served end up in that
# request's single log line (see CaptureRequestErrors) instead of a line of their own.
request_error_var: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "request_error", default=None
)

# Ids we accept from X-Request-ID: what proxies and tracing tools generate (UUIDs, hex,
# base64url, dotted or colon-separated ids), short enough to be worth grepping for, and
# nothing that could forge a log line or a header.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")

# LogRecord attributes that are not `extra` fields.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "request_id"}
_SIMPLE = (str, int, float, bool, type(None))


def valid_request_id(value: str | None) -> str | None:
    """`value` if it is a sane request id, else None."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record logged while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class CaptureRequestErrors(logging.Filter):
    """On the `django.request` logger: keeps its per-request records out of the log.

    Django logs "Not Found: /x" for a 4xx and "Internal Server Error" with the traceback
    for a 5xx. Our request line already says the status, so those would be a second line
    for one request; the traceback of a 5xx is kept and written as fields of the request
    line. Outside a request (no request id) records pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if request_id_var.get() is None:
            return True
        if record.levelno >= logging.ERROR and record.exc_info and record.exc_info[0]:
            request_error_var.set(exception_fields(record.exc_info))
        return False


class SecurityWithoutTraceback(logging.Filter):
    """Keeps the message of Django's security warnings (a bad Host header, a malformed
    body) but drops their traceback, which only ever shows Django's own code. A handler
    filter: a filter on the `django.security` logger would not see its children's records.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security."):
            record.exc_info = None
            record.exc_text = None
        return True


def exception_fields(exc_info) -> dict:
    exc_type, exc, tb = exc_info
    return {
        "exc_type": f"{exc_type.__module__}.{exc_type.__qualname__}",
        "exc_message": str(exc),
        "traceback": "".join(traceback.format_exception(exc_type, exc, tb)),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, simple extras
    and, for errors, the exception type, message and full traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            simple = isinstance(value, _SIMPLE)
            if simple and key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry.update(exception_fields(record.exc_info))
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        # ASCII output: a stray surrogate in a path can never make a line unwritable.
        return json.dumps(entry, default=str)


def json_logging(
    *, level: str, loggers: dict, filters: dict | None = None, stdout_filters: tuple = ()
) -> dict:
    """A logging.config.dictConfig dictionary: every record that reaches the root logger
    (at `level` or above) as one JSON line on stdout, through JsonFormatter.

    `loggers` configures named loggers; a logger silenced with `"handlers": ["null"]`
    writes nothing. `filters` defines filters by name and `stdout_filters` names those the
    stdout handler applies. Used by Django's LOGGING (settings.py) and gunicorn's
    logconfig_dict (gunicorn.conf.py), so the site and gunicorn write the same lines.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters or {},
        "formatters": {"json": {"()": "sitewide.jsonlog.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": list(stdout_filters),
            },
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": loggers,
    }

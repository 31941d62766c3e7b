"""Fixtures for the site-wide tests: the real log output, parsed; users and clients."""

import io
import json
import logging

import pytest

# The apps' users and simulator client, for the tests of site-wide behaviour.
from simapi.tests.conftest import sim  # noqa: F401
from sitewide import probes
from timeline.tests.conftest import alice, bob  # noqa: F401


class LogCapture:
    """Lines written by the project's own stdout handler (settings.LOGGING), as dicts."""

    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]

    def requests(self) -> list[dict]:
        return [line for line in self.lines if line["logger"] == "minitwit.request"]


@pytest.fixture
def log_output():
    """Points the configured JSON stdout handler at a buffer, keeping its formatter and
    filters: what the tests read is exactly what production writes."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "stdout")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield LogCapture(stream)
    finally:
        handler.setStream(previous)


@pytest.fixture
def debug_logging():
    """LOG_LEVEL=DEBUG for one test."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.setLevel(previous)


@pytest.fixture(autouse=True)
def _forget_migration_state():
    # /ready caches "all migrations applied" per process; each test starts unknowing.
    probes._migrations_applied = False
    yield
    probes._migrations_applied = False

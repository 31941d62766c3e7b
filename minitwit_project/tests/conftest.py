"""Fixtures and helpers of the site-wide tests: the real log output, parsed; settings in a
fresh interpreter; the real gunicorn; /metrics, parsed. The users and the simulator client
are fixtures of the root conftest.py."""

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from sitewide import probes

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import django; django.setup(); from django.conf import settings; print({expr})"
# The labels of a successful GET /public in the request metrics.
PUBLIC_200 = {"method": "GET", "status": "200", "view": "timeline:public"}


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


def load_settings(env: dict, expr: str = "settings.SECRET_KEY", tmp_path=None):
    """Import the settings in a fresh interpreter with exactly this environment (plus
    MINITWIT_DATA_DIR=tmp_path when given) and print EXPR; returns the CompletedProcess."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "minitwit_project.settings", **env})
    if tmp_path is not None:
        clean.setdefault("MINITWIT_DATA_DIR", str(tmp_path))
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(expr=expr)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Gunicorn:
    """gunicorn as `make run` and the container start it, with env overrides."""

    def __init__(self, tmp_path: Path, command_prefix: tuple[str, ...] = (), **env: str):
        # command_prefix runs both processes under another command (e.g. fewer privileges).
        self.command_prefix = list(command_prefix)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env = {
            **base,
            "MINITWIT_DATA_DIR": str(tmp_path / "data"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            # Sync workers take one connection at a time, so concurrent clients are
            # bound to reach both of them.
            "GUNICORN_THREADS": "1",
            "LOG_LEVEL": "INFO",
            **env,
        }
        subprocess.run(
            [*self.command_prefix, sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=120,
        )

    def __enter__(self):
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                *self.command_prefix,
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "minitwit_project.wsgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"{self.url}/health", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                pytest.fail(f"gunicorn did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def __exit__(self, *exc_info):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def metric(self, name: str, labels: dict) -> float:
        status, text = get(f"{self.url}/metrics")
        assert status == 200, text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return 0.0

    def output_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


def samples(text: str) -> dict[tuple, float]:
    """{(name, (label pairs...)): value} of a /metrics page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client=None) -> dict[tuple, float]:
    response = (client or Client()).get("/metrics")
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.text)

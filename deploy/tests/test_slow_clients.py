"""Slow request bodies cannot take the site down where gunicorn is reachable:

- in the stack, nginx buffers every body before gunicorn's sync workers see it;
- under `make run`, gunicorn serves the ASGI app with its asyncio worker, where a stalled
  body holds a coroutine, not a worker (benchmarks/slow_bodies.py measures both).
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from minitwit_project.tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "deploy" / "nginx"
PROXY_CONF = NGINX_DIR / "proxy.conf"


def _directives(text: str, name: str) -> list[str]:
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return re.findall(rf"(?m)^\s*{name}\s+([^;]+);", code)


def test_the_proxy_buffers_request_bodies_before_gunicorn_sees_them():
    assert _directives(PROXY_CONF.read_text(), "proxy_request_buffering") == ["on"]
    for path in NGINX_DIR.glob("*"):
        assert "off" not in _directives(path.read_text(), "proxy_request_buffering"), path


@pytest.mark.parametrize("template", ["minitwit.conf.template", "rehearsal.conf.template"])
def test_the_proxy_drops_clients_that_stall_their_body_or_headers(template):
    # Server-wide (client_header_timeout is not allowed in the location that includes
    # proxy.conf), so in each configuration that includes it.
    text = (NGINX_DIR / template).read_text()
    for name in ("client_body_timeout", "client_header_timeout"):
        [value] = _directives(text, name)
        assert re.fullmatch(r"\d+s", value) and int(value[:-1]) <= 30, (name, value)


def test_every_proxy_that_reaches_web_uses_this_policy():
    for template in ("minitwit.conf.template", "rehearsal.conf.template"):
        assert "nginx/proxy.conf;" in (NGINX_DIR / template).read_text().replace(
            "/etc/nginx/minitwit/proxy.conf;", "nginx/proxy.conf;"
        ), template


def _make_run_server() -> list[str]:
    """The gunicorn command of the Makefile's `run` target, with the venv's gunicorn."""
    recipe = re.search(r"(?ms)^run:.*?(?=^\S)", (ROOT / "Makefile").read_text()).group(0)
    [line] = [line for line in recipe.splitlines() if "gunicorn " in line]
    words = shlex.split(line.strip())
    start = next(i for i, word in enumerate(words) if word.endswith("gunicorn"))
    return [str(Path(sys.executable).with_name("gunicorn")), *words[start + 1 :]]


@pytest.mark.slow
def test_make_run_answers_health_probes_while_bodies_stall(unused_port):
    command = _make_run_server()
    assert "asgi" in command
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/slow_bodies.py",
            f"--port={unused_port}",
            "--connections=150",
            "--probes=5",
            "--",
            *command,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5/5 /health probes answered" in result.stdout


@pytest.fixture
def unused_port() -> int:
    return free_port()

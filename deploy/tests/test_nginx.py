"""The stack's TLS proxy (deploy/nginx/minitwit.conf.template) behaves as promised, in a real
nginx: HTTPS only, the client's address and scheme passed on, unknown hosts and /metrics
refused.

The template is written for the stack's nginx (>= 1.27.3) inside Swarm; this test runs it in
Debian's nginx on loopback, changing only what cannot exist here: ports 80/443 become free
ports, Swarm's `tasks.*` names become a local echo server, secrets become a self-signed
certificate, and on nginx older than 1.25.1 `http2 on` is dropped. Skipped without nginx,
unless REQUIRE_NGINX=1 (CI).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from minitwit_project.tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "deploy" / "nginx"
DOMAIN = "minitwit.example.org"


def _nginx() -> str:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("REQUIRE_NGINX=1 but nginx is not installed")
        pytest.skip("nginx is not installed")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    return nginx


def _version(nginx: str) -> tuple[int, ...]:
    output = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr
    return tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", output).groups())


class Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received, and remembers the paths."""

    seen: list[str] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Echo.seen.append(self.path)
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode(),
            }
        ).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"the template no longer contains {old!r}: update this test"
    return text.replace(old, new)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    nginx = _nginx()
    tmp = tmp_path_factory.mktemp("tls-proxy")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", key, "-out", cert, "-subj", f"/CN={DOMAIN}",
            "-addext", f"subjectAltName=DNS:{DOMAIN},IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    upstream_port = upstream.server_address[1]
    http_port, https_port = free_port(), free_port()

    site = (NGINX_DIR / "minitwit.conf.template").read_text()
    site = _replace(site, "${MINITWIT_DOMAIN}", DOMAIN)
    site = _replace(
        site, "listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;"
    )
    site = _replace(
        site, "listen 443 ssl default_server;", f"listen 127.0.0.1:{https_port} ssl default_server;"
    )
    site = _replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    site = _replace(site, "server tasks.web:8000 resolve", f"server 127.0.0.1:{upstream_port}")
    site = _replace(site, "server tasks.grafana:3000 resolve", f"server 127.0.0.1:{upstream_port}")
    site = _replace(site, "/run/secrets/tls_cert", str(cert))
    site = _replace(site, "/run/secrets/tls_key", str(key))
    site = _replace(site, "/etc/nginx/minitwit/", f"{NGINX_DIR}/")
    site = _replace(site, "access_log /dev/stdout", f"access_log {tmp}/access.log")
    if _version(nginx) < (1, 25, 1):
        site = _replace(site, "http2 on;", "")
    (tmp / "site.conf").write_text(site)
    (tmp / "nginx.conf").write_text(
        f"pid {tmp}/nginx.pid;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    client_body_temp_path {tmp}/body;\n"
        f"    proxy_temp_path {tmp}/proxy;\n"
        f"    fastcgi_temp_path {tmp}/fcgi;\n"
        f"    uwsgi_temp_path {tmp}/uwsgi;\n"
        f"    scgi_temp_path {tmp}/scgi;\n"
        f"    include {tmp}/site.conf;\n"
        "}\n"
    )
    command = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
    yield {"http": http_port, "https": https_port, "cert": str(cert)}
    server.terminate()
    server.wait(timeout=10)
    upstream.shutdown()


def _https(proxy, method: str, path: str, host: str = DOMAIN, **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"https://127.0.0.1:{proxy['https']}{path}",
        headers={"Host": host, **kwargs.pop("headers", {})},
        verify=proxy["cert"],
        allow_redirects=False,
        timeout=5,
        **kwargs,
    )


def test_plain_http_is_redirected_to_https_keeping_the_method(proxy):
    response = requests.post(
        f"http://127.0.0.1:{proxy['http']}/msgs/Roger%20Histand?latest=7",
        headers={"Host": DOMAIN},
        data={"content": "hello"},
        allow_redirects=False,
        timeout=5,
    )
    # 308, not 301: a client repeats its POST (the simulator's tweet) instead of a GET.
    assert response.status_code == HTTPStatus.PERMANENT_REDIRECT
    assert response.headers["Location"] == f"https://{DOMAIN}/msgs/Roger%20Histand?latest=7"


def test_web_sees_the_real_client_address_and_https_whatever_the_client_claims(proxy):
    response = _https(
        proxy,
        "POST",
        "/add_message",
        data={"text": "hi"},
        headers={"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "http"},
    )
    assert response.status_code == HTTPStatus.OK
    seen = response.json()
    assert seen["method"] == "POST" and seen["body"] == "text=hi"
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "https"
    assert seen["headers"]["Host"] == DOMAIN
    assert seen["headers"]["X-Request-ID"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_host_names_we_do_not_serve_get_no_answer(proxy):
    with pytest.raises(requests.ConnectionError):
        _https(proxy, "GET", "/public", host="attacker.example")


def test_metrics_are_not_served_to_the_public(proxy):
    Echo.seen.clear()
    assert _https(proxy, "GET", "/metrics").status_code == HTTPStatus.NOT_FOUND
    assert "/metrics" not in Echo.seen


def test_grafana_is_served_under_its_own_path(proxy):
    response = _https(proxy, "GET", "/grafana/login")
    assert response.json()["path"] == "/grafana/login"

"""HTTP clients of the real-engine check (deploy/engine/check.sh). Standard library only: it
runs on the host and in the Python stand-in image, on the stack's network.

    client.py smoke URL ...           the endpoints a replica must answer, checked once
    client.py slow-register URL ...   a simulator registration whose body arrives slowly
    client.py load ...                page and simulator traffic until SIGTERM, as nginx
                                      sends it, counting every failure

Every check prints what it saw and exits non-zero on the first surprise (smoke,
slow-register) or, for `load`, prints a JSON summary and exits 0: the caller judges it.
"""

import argparse
import base64
import http.client
import json
import random
import signal
import socket
import string
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http import HTTPStatus

# nginx's policy towards the replicas (deploy/nginx/proxy.conf): connect within 2 s, answer
# within 35 s; a request whose connection failed moves to the next replica, at most 3 tries
# within 10 s; a request that was sent is never resent.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 35.0
TRIES = 3
TRIES_WITHIN = 10.0
# How long nginx trusts an answer of Swarm's DNS (`resolver ... valid=1s`).
DNS_VALID = 1.0


class Surprise(Exception):
    """An answer the check did not expect."""


class ConnectFailed(Exception):
    """Connecting to a replica failed: the request was never sent, so retrying is safe."""


def simulator_headers(password: str, username: str = "simulator") -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def fetch(
    address: tuple[str, int],
    method: str,
    path: str,
    *,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, bytes]:
    """One request on a new connection. ConnectionError subclasses and socket.timeout from
    connect() are raised as ConnectFailed (safe to retry elsewhere); anything after the
    request was sent propagates as is."""
    connection = http.client.HTTPConnection(*address, timeout=CONNECT_TIMEOUT)
    try:
        try:
            connection.connect()
        except OSError as exc:
            raise ConnectFailed(f"{address[0]}:{address[1]}: {exc}") from exc
        connection.sock.settimeout(READ_TIMEOUT)
        # What nginx adds (proxy.conf): the client's Host, its address, the scheme.
        sent = {"Host": host, "X-Forwarded-Proto": "https", **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def expect(status: int, body: bytes, wanted: int, what: str, contains: bytes | None = None):
    if status != wanted:
        raise Surprise(f"{what}: {status} instead of {wanted}: {body[:300]!r}")
    if contains is not None and contains not in body:
        raise Surprise(f"{what}: the answer lacks {contains!r}: {body[:300]!r}")
    print(f"ok  {what}: {status}")


def url_address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port or 80


def read_secret(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def new_username(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_lowercase + string.digits, k=10))


def smoke(args) -> None:
    """/health, /ready, /public, a simulator registration, then /metrics counting it."""
    address = url_address(args.url)
    host = args.host
    status, body = fetch(address, "GET", "/health", host=host)
    expect(status, body, HTTPStatus.OK, "GET /health", b'"ok"')
    status, body = fetch(address, "GET", "/ready", host=host)
    expect(status, body, HTTPStatus.OK, "GET /ready (database reachable, migrations applied)")
    status, body = fetch(address, "GET", "/public", host=host)
    expect(status, body, HTTPStatus.OK, "GET /public", b"Public Timeline")
    username = new_username("engine-smoke-")
    payload = json.dumps({"username": username, "email": f"{username}@example.org", "pwd": "x1"})
    status, body = fetch(
        address,
        "POST",
        "/register?latest=4242",
        host=host,
        headers=simulator_headers(read_secret(args.simulator_password_file)),
        body=payload.encode(),
    )
    expect(status, body, HTTPStatus.NO_CONTENT, f"simulator POST /register {username}")
    status, body = fetch(address, "GET", "/latest", host=host)
    expect(status, body, HTTPStatus.OK, "GET /latest records the registration", b"4242")
    if args.metrics:
        # Summed over the workers (prometheus_client's multiprocess directory under /tmp).
        status, body = fetch(address, "GET", "/metrics", host=host)
        expect(
            status,
            body,
            HTTPStatus.OK,
            "GET /metrics counts the registration",
            b'minitwit_simulator_requests_total{endpoint="register",method="POST",status="204"}',
        )
    elif args.metrics_refused:
        status, body = fetch(address, "GET", "/metrics", host=host)
        expect(status, body, HTTPStatus.FORBIDDEN, "GET /metrics from outside the allowlist")


def slow_register(args) -> None:
    """A simulator POST /register whose JSON body trickles in over --seconds, as from a slow
    client: the request is in flight in a gunicorn thread the whole time. Touches
    --started-file once the headers and the first bytes are sent. Succeeds only on a
    complete 204 answer."""
    username = new_username("engine-slow-")
    payload = json.dumps(
        {"username": username, "email": f"{username}@example.org", "pwd": "slow-but-sure"}
    ).encode()
    headers = simulator_headers(read_secret(args.simulator_password_file))
    head = (
        f"POST /register HTTP/1.1\r\nHost: {args.host}\r\n"
        f"Authorization: {headers['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection(url_address(args.url), timeout=CONNECT_TIMEOUT)
    sock.settimeout(READ_TIMEOUT + args.seconds)
    started = time.monotonic()
    pieces = 10
    step = -(-len(payload) // pieces)
    sock.sendall(head + payload[:step])
    with open(args.started_file, "w") as f:
        f.write(username)
    for offset in range(step, len(payload), step):
        time.sleep(args.seconds / (pieces - 1))
        sock.sendall(payload[offset : offset + step])
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    sock.close()
    took = time.monotonic() - started
    expect(response.status, body, HTTPStatus.NO_CONTENT, f"slow POST /register {username}")
    print(json.dumps({"username": username, "seconds": round(took, 2), "finished": time.time()}))


class Load:
    """Sends the mix until stopped, like nginx in front of the replicas: re-resolves
    `tasks.web` every second, spreads requests over the addresses round-robin, and moves a
    request to the next replica only when connecting fails."""

    def __init__(self, args):
        self.name = args.resolve
        self.port = args.port
        self.host = args.host
        self.headers = simulator_headers(read_secret(args.simulator_password_file))
        self.prefix = args.prefix
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.addresses: list[str] = []
        self.resolved_at = 0.0
        self.turn = 0
        self.requests = 0
        self.failures: list[str] = []
        self.failure_count = 0
        self.moved = 0
        self.by_address: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()
        self.seen_addresses: set[str] = set()

    def pick(self) -> list[str]:
        with self.lock:
            now = time.monotonic()
            if now - self.resolved_at >= DNS_VALID:
                try:
                    infos = socket.getaddrinfo(self.name, self.port, socket.AF_INET)
                    self.addresses = sorted({info[4][0] for info in infos})
                except socket.gaierror:
                    self.addresses = []
                self.resolved_at = now
                self.seen_addresses.update(self.addresses)
            if not self.addresses:
                return []
            self.turn += 1
            start = self.turn % len(self.addresses)
            return self.addresses[start:] + self.addresses[:start]

    def send(self, kind: str, method: str, path: str, wanted: int, body=None, simulator=False):
        headers = self.headers if simulator else {}
        data = json.dumps(body).encode() if body is not None else None
        deadline = time.monotonic() + TRIES_WITHIN
        problem = ""
        for attempt, address in enumerate(self.pick()[:TRIES]):
            if attempt and time.monotonic() > deadline:
                break
            try:
                status, answer = fetch(
                    (address, self.port), method, path, host=self.host, headers=headers, body=data
                )
            except ConnectFailed as exc:
                problem = f"connect: {exc}"
                with self.lock:
                    self.moved += 1
                continue
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{address}: {type(exc).__name__}: {exc}"
                break
            with self.lock:
                self.by_address[address] += 1
            if status == wanted:
                self.count(kind, None)
                return
            problem = f"{address}: {status}: {answer[:200]!r}"
            break
        else:
            problem = problem or f"no address for {self.name}"
        self.count(kind, f"{method} {path}: {problem}")

    def count(self, kind: str, failure: str | None):
        with self.lock:
            self.requests += 1
            self.by_kind[kind] += 1
            if failure:
                self.failure_count += 1
                if len(self.failures) < 20:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {failure}")

    def user_loop(self, worker: int):
        previous = None
        serial = 0
        while not self.stop.is_set():
            serial += 1
            user = f"{self.prefix}{worker}x{serial}"
            quoted = urllib.parse.quote(user)
            latest = f"latest={worker * 1_000_000 + serial}"
            register = {"username": user, "email": f"{user}@example.org", "pwd": "pw"}
            # (what, method, path, wanted status, JSON body, simulator credentials)
            steps = [
                ("register", "POST", f"/register?{latest}", 204, register, True),
                (
                    "post",
                    "POST",
                    f"/msgs/{quoted}?{latest}",
                    204,
                    {"content": f"hi {serial}"},
                    True,
                ),
                ("msgs", "GET", f"/msgs?no=20&{latest}", 200, None, True),
                ("public page", "GET", "/public", 200, None, False),
                ("profile page", "GET", f"/{quoted}", 200, None, False),
                ("latest", "GET", "/latest", 200, None, False),
            ]
            if previous:
                follow = {"follow": previous}
                steps.append(("follow", "POST", f"/fllws/{quoted}?{latest}", 204, follow, True))
            for kind, method, path, wanted, body, simulator in steps:
                if self.stop.is_set():
                    return
                self.send(kind, method, path, wanted, body, simulator)
            previous = user

    def summary(self, seconds: float) -> dict:
        with self.lock:
            return {
                "seconds": round(seconds, 1),
                "requests": self.requests,
                "failures": self.failure_count,
                "first_failures": self.failures,
                "moved_to_another_replica": self.moved,
                "by_kind": dict(self.by_kind),
                "answered_by": dict(self.by_address),
                "addresses_seen": sorted(self.seen_addresses),
            }


def load(args) -> None:
    runner = Load(args)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    signal.signal(signal.SIGINT, lambda *_: runner.stop.set())
    started = time.monotonic()
    threads = [
        threading.Thread(target=runner.user_loop, args=(worker,), daemon=True)
        for worker in range(args.workers)
    ]
    for thread in threads:
        thread.start()
    print(f"load: sending to {args.resolve}:{args.port} with {args.workers} workers", flush=True)
    while not runner.stop.wait(10):
        print(json.dumps(runner.summary(time.monotonic() - started)), flush=True)
    for thread in threads:
        thread.join(READ_TIMEOUT + 5)
    summary = runner.summary(time.monotonic() - started)
    print(json.dumps(summary), flush=True)
    if args.summary_file:
        with open(args.summary_file, "w") as f:
            json.dump(summary, f)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub):
        sub.add_argument("--host", required=True, help="the Host header (ALLOWED_HOSTS)")
        sub.add_argument("--simulator-password-file", required=True)

    sub = commands.add_parser("smoke")
    sub.add_argument("url")
    common(sub)
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--metrics", action="store_true", help="/metrics must answer")
    group.add_argument("--metrics-refused", action="store_true", help="/metrics must be 403")
    sub.set_defaults(run=smoke)

    sub = commands.add_parser("slow-register")
    sub.add_argument("url")
    common(sub)
    sub.add_argument("--seconds", type=float, default=6.0)
    sub.add_argument("--started-file", required=True)
    sub.set_defaults(run=slow_register)

    sub = commands.add_parser("load")
    common(sub)
    sub.add_argument("--resolve", default="tasks.web")
    sub.add_argument("--port", type=int, default=8000)
    sub.add_argument("--workers", type=int, default=2)
    sub.add_argument("--prefix", default="load-")
    sub.add_argument("--summary-file")
    sub.set_defaults(run=load)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (Surprise, ConnectFailed, OSError, http.client.HTTPException) as exc:
        print(f"FAIL {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Do slow request bodies take a server down? (issue 11; docs/security.md, "Slow bodies")

Starts the server command given after `--` (with GUNICORN_BIND set to 127.0.0.1:PORT and a
fresh SQLite database), waits for /health, then opens CONNECTIONS connections that each
send the headers and part of the body of a `POST /login` (with a 32-character csrftoken
cookie, as a browser would; no credentials are needed) and then stall. While they stall,
it sends PROBES `GET /health` probes, one a second, each on a new connection with a
PROBE_TIMEOUT, and prints how many were answered.

    python benchmarks/slow_bodies.py -- gunicorn --config gunicorn.conf.py \\
        minitwit_project.wsgi:application

Exit status 0 when every probe was answered, 1 otherwise.
"""

import argparse
import http.client
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def probe(port: int, timeout: float) -> bool:
    """One GET /health on a new connection: answered 200 within `timeout` seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def stall(port: int, body_length: int) -> socket.socket | None:
    """A connection that sent the headers and half of the body of a sign-in, then stops."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        token = secrets.token_hex(16)  # 32 characters
        head = (
            "POST /login HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {body_length}\r\n"
            f"Cookie: csrftoken={token}\r\n"
            "\r\n"
        )
        sock.sendall(head.encode() + b"username=" + b"x" * (body_length // 2))
        return sock
    except OSError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7201)
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--probe-timeout", type=float, default=2.0)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the server command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the server command after --")

    data_dir = tempfile.mkdtemp(prefix="slow-bodies-")
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "MINITWIT_DATA_DIR": data_dir,
        "DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite3",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stalled = []
    try:
        deadline = time.monotonic() + 60
        while not probe(args.port, 1.0):
            if time.monotonic() > deadline or server.poll() is not None:
                print("the server did not come up", file=sys.stderr)
                return 2
            time.sleep(0.2)
        before = sum(probe(args.port, args.probe_timeout) for _ in range(5))
        stalled = [stall(args.port, 1000) for _ in range(args.connections)]
        opened = sum(sock is not None for sock in stalled)
        answered = 0
        started = time.monotonic()
        for number in range(args.probes):
            answered += probe(args.port, args.probe_timeout)
            time.sleep(max(0.0, started + number + 1 - time.monotonic()))
        print(
            f"{' '.join(command)}\n"
            f"  before: {before}/5 probes answered; then {opened} stalled bodies open\n"
            f"  {answered}/{args.probes} /health probes answered within "
            f"{args.probe_timeout:g} s while they stall"
        )
        return 0 if answered == args.probes else 1
    finally:
        for sock in stalled:
            if sock is not None:
                sock.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark's modules import each other by name, as `benchmarks/bench.py` runs them."""

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _Server:
    """A loopback TCP server whose answer to each connection is given by the test."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = self.sock.getsockname()
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection):
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                request += chunk
            self.answer(connection, request)

    def close(self):
        self.sock.close()


@pytest.fixture
def tcp_server():
    """Start servers with `tcp_server(answer)`; answer(connection, request) replies."""
    started = []

    def start(answer):
        server = _Server(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def reply():
    """reply(text, linger=s): an answer that sends `text`, keeps the connection open for
    `linger` seconds, then closes it."""

    def make(text: bytes, *, linger: float = 0.0):
        def answer(connection, request):
            connection.sendall(text)
            if linger:
                time.sleep(linger)

        return answer

    return make

"""Ctrl-C on `make run` ends the server within seconds, even with a browser connected.

Issue 13 saw 20-22 s and a SIGKILL (the production graceful_timeout running out). Workers
now skip the interpreter's teardown (worker_exit in gunicorn.conf.py), which alone took 2-4 s
on a busy machine, and the development graceful timeout is 3 s.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import Gunicorn

pytestmark = pytest.mark.slow


def test_ctrl_c_stops_make_run_quickly_with_a_browser_connected(tmp_path):
    with Gunicorn(tmp_path, MINITWIT_ENV="development") as server:
        host, port = "127.0.0.1", server.port
        with urllib.request.urlopen(f"{server.url}/public", timeout=10) as response:
            response.read()
        # What a browser leaves open after a page: a speculative connection that never
        # sends a request, which a sync worker sits reading.
        idle = [socket.create_connection((host, port))]
        time.sleep(0.5)
        master = server.process.pid
        workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        log_before = len(server.log_path.read_text())
        started = time.monotonic()
        # A terminal's Ctrl-C: SIGINT to the master and its workers alike (to each by pid;
        # they share the test runner's process group).
        for pid in [master, *map(int, workers)]:
            os.kill(pid, signal.SIGINT)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("gunicorn still running 15 s after Ctrl-C")
        elapsed = time.monotonic() - started
        for connection in idle:
            connection.close()
    assert elapsed < 3, f"Ctrl-C took {elapsed:.1f} s"
    assert "SIGKILL" not in server.log_path.read_text()[log_before:]

"""With several gunicorn workers, /metrics must report the sum over all of them.

These tests start the real gunicorn with the repository's gunicorn.conf.py, on a free
loopback port and an SQLite database of their own.
"""

import json
import os
import runpy
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

from .conftest import PUBLIC_200, ROOT, Gunicorn, get

pytestmark = pytest.mark.slow

HISTOGRAM = "minitwit_http_request_duration_seconds"
COUNTER = f"{HISTOGRAM}_count"


def per_worker(metrics_dir: Path) -> dict[int, float]:
    """How many /public requests each worker's own file counts: who served how many.

    A worker's file holds the histogram's buckets one by one (not cumulated), so their sum
    is its request count.
    """
    served: dict[int, float] = {}
    for path in metrics_dir.glob("histogram_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                labels = {k: v for k, v in sample.labels.items() if k != "le"}
                if sample.name == f"{HISTOGRAM}_bucket" and labels == PUBLIC_200:
                    served[pid] = served.get(pid, 0) + sample.value
    return served


def send(url: str, count: int) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: get(url)[0], range(count)))
    assert statuses == [200] * count


def test_metrics_are_the_sum_over_all_workers(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A file left by an earlier run of the container: it must not be counted again.
    stale = MmapedDict(str(metrics_dir / "histogram_999999.db"))
    labels = {**PUBLIC_200, "le": "+Inf"}
    key = json.dumps((HISTOGRAM, f"{HISTOGRAM}_bucket", labels, "stale"), sort_keys=True)
    stale.write_value(key, 1000.0, 0.0)
    stale.close()

    with Gunicorn(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as server:
        sent = 0
        # Rounds until both workers have served some: the kernel, not us, picks the
        # worker for each connection. Bounded in count, so it cannot loop forever.
        while len(per_worker(metrics_dir)) < 2 and sent < 2000:
            send(f"{server.url}/public", 50)
            sent += 50
        served = per_worker(metrics_dir)
        assert len(served) == 2, f"only one worker served {sent} requests: {served}"
        assert sum(served.values()) == sent

        # The counter is incremented before the response is written, so a scrape after
        # the last response already sees every request, whichever worker answers it.
        assert server.metric(COUNTER, PUBLIC_200) == sent

        # A worker dies (gunicorn never recycles them): what it counted stays counted,
        # read from the files it left behind.
        victim = max(served, key=served.get)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(list(metrics_dir.glob("histogram_*.db"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for gunicorn to boot the replacement worker
        assert server.metric(COUNTER, PUBLIC_200) == sent
        assert (metrics_dir / f"histogram_{victim}.db").exists()

        assert server.metric("minitwit_database_up", {}) == 1
        assert server.metric("minitwit_users", {}) == 0

    request_lines = [
        line for line in server.output_lines() if line.get("logger") == "minitwit.request"
    ]
    assert len([line for line in request_lines if line["path"] == "/public"]) == sent
    # gunicorn's own messages are JSON lines too (the parse above would have failed).
    assert any(line["logger"] == "gunicorn.error" for line in server.output_lines())


def test_without_a_configured_directory_gunicorn_uses_a_temporary_one(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    with Gunicorn(tmp_path, TMPDIR=str(scratch)) as server:
        send(f"{server.url}/public", 4)
        assert server.metric(COUNTER, PUBLIC_200) == 4
        [metrics_dir] = scratch.glob("minitwit-metrics-*")
        assert list(metrics_dir.glob("histogram_*.db"))

    assert not metrics_dir.exists()


def test_a_dead_workers_live_gauges_leave_and_its_counts_stay(tmp_path, monkeypatch):
    """gunicorn calls child_exit in the master when a worker dies."""
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_4242.db", "gauge_liveall_4242.db", "counter_4242.db"):
        values = MmapedDict(str(tmp_path / name))
        key = json.dumps(("g", "g", {}, "A value."), sort_keys=True)
        values.write_value(key, 3.0, 0.0)
        values.close()

    config["child_exit"](server=None, worker=SimpleNamespace(pid=4242))

    # A live gauge (e.g. requests in progress) of a process that is gone would lie; what
    # the process counted happened and stays.
    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["counter_4242.db"]

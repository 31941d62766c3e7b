"""Folding a dead worker's metric files into the archive changes no number."""

import os
import threading

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from minitwit_project.metrics_files import archive_dead_worker, locked


def write_worker(directory, pid: int, *, requests: float, fast: float, slow: float) -> None:
    """A worker's files as prometheus_client writes them: a counter and a histogram."""
    counter = MmapedDict(os.path.join(directory, f"counter_{pid}.db"))
    counter.write_value(
        mmap_key("requests", "requests_total", ["view"], ["timeline:public"], "Requests."),
        requests,
        0.0,
    )
    counter.close()
    histogram = MmapedDict(os.path.join(directory, f"histogram_{pid}.db"))
    for le, value in (("0.1", fast), ("1.0", slow), ("+Inf", 0.0)):
        key = mmap_key("latency_seconds", "latency_seconds_bucket", ["le"], [le], "Latency.")
        histogram.write_value(key, value, 0.0)
    key = mmap_key("latency_seconds", "latency_seconds_sum", [], [], "Latency.")
    histogram.write_value(key, fast * 0.05 + slow * 0.5, 0.0)
    histogram.close()


def scrape(directory) -> dict:
    files = [str(path) for path in directory.glob("*.db")]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in MultiProcessCollector.merge(files, accumulate=True)
        for sample in metric.samples
    }


def test_a_dead_workers_counts_move_to_the_archive_unchanged(tmp_path):
    write_worker(tmp_path, 101, requests=7, fast=5, slow=2)
    write_worker(tmp_path, 102, requests=3, fast=3, slow=0)
    before = scrape(tmp_path)

    archive_dead_worker(str(tmp_path), 101)

    assert scrape(tmp_path) == before
    assert sorted(path.name for path in tmp_path.glob("*.db")) == [
        "counter_102.db",
        "counter_archive.db",
        "histogram_102.db",
        "histogram_archive.db",
    ]
    assert before[("requests_total", (("view", "timeline:public"),))] == 10
    assert before[("latency_seconds_count", ())] == 10


def test_workers_dying_one_after_another_add_up_in_one_archive(tmp_path):
    write_worker(tmp_path, 101, requests=7, fast=5, slow=2)
    archive_dead_worker(str(tmp_path), 101)
    write_worker(tmp_path, 102, requests=3, fast=1, slow=2)
    archive_dead_worker(str(tmp_path), 102)
    write_worker(tmp_path, 103, requests=1, fast=1, slow=0)
    archive_dead_worker(str(tmp_path), 103)

    after = scrape(tmp_path)

    assert after[("requests_total", (("view", "timeline:public"),))] == 11
    assert after[("latency_seconds_bucket", (("le", "0.1"),))] == 7
    assert after[("latency_seconds_bucket", (("le", "1.0"),))] == 11
    assert after[("latency_seconds_count", ())] == 11
    assert len(list(tmp_path.glob("*.db"))) == 2


def test_a_worker_that_never_wrote_anything_is_no_error(tmp_path):
    archive_dead_worker(str(tmp_path), 4242)
    assert list(tmp_path.glob("*.db")) == []


def test_archiving_waits_for_a_scrape_in_progress(tmp_path):
    write_worker(tmp_path, 101, requests=7, fast=5, slow=2)
    finished = threading.Event()

    with locked(str(tmp_path), exclusive=False):
        archiver = threading.Thread(
            target=lambda: (archive_dead_worker(str(tmp_path), 101), finished.set())
        )
        archiver.start()
        # While the scrape holds its lock the dead worker's file stays where it is.
        assert not finished.wait(timeout=0.5)
        assert (tmp_path / "counter_101.db").exists()
    archiver.join(timeout=10)

    assert finished.is_set()
    assert not (tmp_path / "counter_101.db").exists()

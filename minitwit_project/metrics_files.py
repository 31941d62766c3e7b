"""Housekeeping of prometheus_client's multiprocess files (PROMETHEUS_MULTIPROC_DIR).

Every gunicorn worker writes its counters and histograms to its own files, and a scrape
reads them all. Workers are recycled (GUNICORN_MAX_REQUESTS), and the files of dead
workers must keep counting, or counters would go backwards. Left alone they pile up: a
scrape costs about a millisecond per file, so weeks of recycling would make every scrape
take seconds. When a worker exits, gunicorn's master folds its files into one archive
file per kind (see gunicorn.conf.py, child_exit), so the number of files stays at
"live workers + archive".

A scrape must never see a dead worker's values twice (archive written, dead file not yet
removed) or not at all: both would look like a counter reset to Prometheus. Scrapes hold
a shared lock on the directory while reading, compaction an exclusive one.

Standard library and prometheus_client only: gunicorn's master imports this.
"""

import fcntl
import os
from contextlib import contextmanager

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

LOCK_FILE = "scrape.lock"
# Gauges are not folded: their multiprocess modes (live, max, ...) are per process, and
# MiniTwit keeps no gauge in the workers (its gauges are computed at scrape time).
COMPACTED_KINDS = ("counter", "histogram")


@contextmanager
def locked(directory: str, *, exclusive: bool):
    """Hold the directory's lock: shared for reading, exclusive for rewriting files."""
    fd = os.open(os.path.join(directory, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def archive_dead_worker(directory: str, pid: int) -> None:
    """Fold the counter and histogram files of the exited worker `pid` into the archives."""
    with locked(directory, exclusive=True):
        for kind in COMPACTED_KINDS:
            dead = os.path.join(directory, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = os.path.join(directory, f"{kind}_archive.db")
            sources = [path for path in (archive, dead) if os.path.exists(path)]
            # accumulate=False keeps histogram buckets per bucket, as the files hold them.
            merged = MultiProcessCollector.merge(sources, accumulate=False)
            # The temporary name does not end in .db, so no scrape would ever read it.
            partial = f"{archive}.partial"
            if os.path.exists(partial):
                os.remove(partial)
            values = MmapedDict(partial)
            try:
                for metric in merged:
                    for sample in metric.samples:
                        key = mmap_key(
                            metric.name,
                            sample.name,
                            list(sample.labels),
                            list(sample.labels.values()),
                            metric.documentation,
                        )
                        values.write_value(key, sample.value, 0.0)
            finally:
                values.close()
            os.replace(partial, archive)
            os.remove(dead)

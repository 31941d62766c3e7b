"""gunicorn settings for every way MiniTwit runs: `make run`, the container, CI.

Each value can be overridden from the environment (see README, "Configuration").
"""

import glob
import multiprocessing
import os
import shutil
import sys
import tempfile

from minitwit_project import runtime_dirs
from sitewide import jsonlog

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Plain sync workers, one request at a time each, concurrency from the process count.
# Measured on /health with a new connection per request, 3 workers: 0.52 ms of server CPU
# per request for sync workers against 0.75 ms for 4 threads each (gthread's poller, futures
# and locks), and 3,315 against 2,275 req/s with 8 clients (docs/performance.md). Requests
# here are short and their database waits are bounded; the stack's nginx buffers slow
# clients before they reach a worker.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# Production gives requests in flight 20 s to finish on a rolling update. `make run` gives
# them 3 s: a browser's idle connections otherwise hold Ctrl-C up to the full wait, which
# ends in SIGKILL, and nobody's request on a development server is worth the wait.
_PRODUCTION = os.environ.get("MINITWIT_ENV") == "production"
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20 if _PRODUCTION else 3))
keepalive = 5
# Workers are never recycled (gunicorn's max_requests stays 0). Measured 2026-12-07
# (benchmarks/worker_memory.py, docs/performance.md, "Worker memory"): 5 workers, the whole
# course scenario replayed 5 times (129,610 requests, ~26,000 a worker), each worker's VmRSS
# went 77 MiB at start-up -> 99.8 MiB after the first replay -> 100.6 MiB after the fifth,
# +0.9 % at most. No leak to bound, so no recycling, and no pile of dead workers' metric
# files to fold away.
# Our own middleware writes one JSON line per request; gunicorn's access log would double it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's runtime control socket is unused here, and two instances on one host (the
# rehearsal, `make run` beside CI) would fight over its default path.
control_socket_disable = True

# Observability ---------------------------------------------------------------------------
# Metrics: prometheus_client's multiprocess mode. Every worker writes its counters and
# histograms to files in PROMETHEUS_MULTIPROC_DIR and /metrics sums them (see
# sitewide/metrics.py). The variable must be set before a worker imports
# prometheus_client, hence here, in the master, before any worker is forked.
_METRICS_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")
_metrics_dir_is_ours = False


def on_starting(server):
    """Check the directories the app writes to, then give the workers an empty metrics
    directory.

    A directory this user cannot write (a root-owned tmpfs, a read-only image path) stops
    the start here, once, with a message saying which directory and how to fix it, instead
    of every worker crashing on its first metric and gunicorn restarting them in a loop.

    Files left by an earlier run (a container restart keeps /tmp) would be added to this
    run's counters; an unset variable gets a fresh temporary directory, removed at exit.
    """
    global _metrics_dir_is_ours
    # Python would quietly skip an unwritable TMPDIR for /tmp or the working directory; a
    # TMPDIR someone set deserves a clear refusal, and none usable at all the same.
    temp_dir = os.environ.get("TMPDIR")
    if not temp_dir:
        try:
            temp_dir = tempfile.gettempdir()
        except FileNotFoundError:
            temp_dir = "/tmp"
    _require_writable(server, {"the temporary directory, TMPDIR": temp_dir})
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="minitwit-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        _metrics_dir_is_ours = True
    needed = {"the workers' metric files, PROMETHEUS_MULTIPROC_DIR": path}
    if server.cfg.worker_tmp_dir:
        needed["gunicorn's worker heartbeat files, --worker-tmp-dir"] = server.cfg.worker_tmp_dir
    _require_writable(server, needed)
    # Only prometheus_client's own files: the variable might name a shared directory.
    for pattern in _METRICS_FILES:
        for stale in glob.glob(os.path.join(path, pattern)):
            os.remove(stale)


# EX_CONFIG from sysexits.h: the configuration, not the program, is wrong.
EXIT_UNWRITABLE_DIRECTORY = 78


def _require_writable(server, directories: dict[str, str]) -> None:
    failed = runtime_dirs.unwritable(directories)
    if failed:
        for purpose, (directory, error) in failed.items():
            server.log.error(runtime_dirs.describe(purpose, directory, error))
        sys.exit(EXIT_UNWRITABLE_DIRECTORY)


def post_worker_init(worker):
    """Build what the first requests would otherwise build, before the worker accepts any
    (minitwit_project/warmup.py: a cold worker ran the simulator's first registrations past
    its 300 ms timeout)."""
    from minitwit_project.warmup import warm_up

    warm_up()


def child_exit(server, worker):
    """A worker died (crash, timeout, a signal): drop its live gauges from /metrics.

    Its counter and histogram files stay, so what it counted stays counted; workers are
    not recycled, so such files are few. This is prometheus_client's documented gunicorn
    hook for multiprocess mode.
    """
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """End the worker process now that gunicorn is done with it.

    A plain exit then tears the interpreter down, freeing every module of Django one by one:
    on a busy machine that took seconds, so Ctrl-C outlasted the graceful timeout and ended
    in SIGKILL. Nothing in that teardown matters: the database connections are closed here,
    log lines are flushed, and the metric files are already written (mmap).
    """
    import logging

    # Called while the worker's SystemExit propagates; its code (a boot error tells the
    # master to halt) must survive. Anything else is left to the ordinary exit.
    leaving = sys.exc_info()[1]
    if not isinstance(leaving, SystemExit):
        return
    code = leaving.code if isinstance(leaving.code, int) else 1 if leaving.code else 0
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: BLE001 - the app may not have loaded; exit all the same
        pass
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code & 0xFF)


def on_exit(server):
    if _metrics_dir_is_ours:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# gunicorn's own messages (boot, worker timeouts, crashes) as JSON lines on stdout, like
# the application's, so one log pipeline and one query language cover both.
logconfig_dict = jsonlog.json_logging(
    level="WARNING",
    loggers={
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        # A logging config switches gunicorn's access log back on; the request line of
        # RequestLogMiddleware already covers every request (see accesslog above).
        "gunicorn.access": {"level": "WARNING", "handlers": ["null"], "propagate": False},
    },
)

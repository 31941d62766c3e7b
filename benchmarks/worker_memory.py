"""Does a gunicorn worker's memory grow? Replays the course scenario several times against
one gunicorn that never recycles its workers, and prints each worker's resident memory.

Usage: .venv/bin/python benchmarks/worker_memory.py [--replays 5] [--limit N]

The server is this checkout's gunicorn.conf.py on a scratch PostgreSQL database (a copy
of a freshly migrated one, dropped at the end), whose workers are never recycled (this
measurement is why gunicorn.conf.py no longer recycles them), and the default worker count unless
WEB_CONCURRENCY is set. The same server runs every replay; if a worker is replaced
(crash, timeout) the table says so, since its memory then starts over.

Replay n sends the scenario's actions in order from one client, a new connection per
request as the course simulator does, under its own usernames (replay n > 1 appends
" #n" to every name, as `manage.py simulate --clients` does), so every replay registers,
tweets and follows exactly as the first did instead of meeting 400s for existing users.
The database grows by one scenario's rows per replay.

Memory is VmRSS from /proc/<pid>/status (KiB), read once the workers are idle: after
start-up, and after each replay. "growth" compares the last replay with the first, so
what a worker loads on its first requests (lazy imports, caches, the connection) is not
counted as growth. Needs PostgreSQL (--pg, default postgres://postgres@127.0.0.1:5432,
trust auth) and the scenario file (default ../shared/minitwit_scenario.csv).
"""

import argparse
import os
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

import servers  # noqa: E402

from simapi.simulator.client import Connection, basic_authorization, replay  # noqa: E402
from simapi.simulator.scenario import namespaced, read_scenario  # noqa: E402

FLAT = 0.10  # the threshold: under 10 % growth after the first replay is "flat"


def vm_rss_kib(pid: int) -> int | None:
    """Resident memory of `pid` in KiB (VmRSS), or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_idle(server: servers.Server, *, seconds: float = 1.0, limit: float = 30.0) -> None:
    """Until the server's processes have used no CPU to speak of for `seconds`: the last
    responses are written and nothing is still being freed or logged."""
    deadline = time.monotonic() + limit
    last = server.cpu_seconds()
    quiet_since = None
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = server.cpu_seconds()
        if (now - last) / 0.25 < 0.05:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= seconds:
                return
        else:
            quiet_since = None
        last = now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replays", type=int, default=5)
    parser.add_argument("--limit", type=int, help="replay only the first N actions")
    parser.add_argument(
        "--scenario", type=Path, default=CHECKOUT.parent / "shared" / "minitwit_scenario.csv"
    )
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per answer (default 2)")
    args = parser.parse_args()

    if not args.scenario.is_file():
        print(f"worker memory: skipped, {args.scenario} is absent")
        return 0
    actions = read_scenario(args.scenario, limit=args.limit)

    databases = servers.Databases(args.pg, CHECKOUT)
    databases.prefix = f"worker_memory_{databases.prefix}"
    databases.check_server()
    server = None
    try:
        server = servers.start_ours(CHECKOUT, databases.fresh("replays"))
        wait_idle(server)
        workers = server.workers()
        columns = ["after start-up"]
        rss = {pid: [vm_rss_kib(pid)] for pid in workers}
        # The server's own defaults (settings.py) unless the caller set them for both.
        authorization = basic_authorization(
            os.environ.get("SIMULATOR_USERNAME", "simulator"),
            os.environ.get("SIMULATOR_PASSWORD", "super_safe!"),
        )
        print(
            f"{len(workers)} workers, {len(actions):,} actions a replay, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for n in range(1, args.replays + 1):
            results, seconds = replay(
                [namespaced(actions, n)],
                lambda: Connection(
                    f"http://{server.host}",
                    timeout=args.timeout,
                    keepalive=False,
                    authorization=authorization,
                ),
            )
            server.check_alive()
            wait_idle(server)
            errors = sum(sum(result.errors.values()) for result in results)
            print(
                f"replay {n}: {len(actions):,} requests in {seconds:.0f} s "
                f"({len(actions) / seconds:.0f} req/s), {errors} error(s), "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            columns.append(f"after replay {n}")
            for pid in rss:
                rss[pid].append(vm_rss_kib(pid))
        replaced = sorted(set(server.workers()) - set(workers))
    finally:
        if server is not None:
            server.stop()
        databases.drop_all()

    print()
    print("VmRSS per worker, MiB")
    print(f"{'worker':>8} " + " ".join(f"{c:>15}" for c in columns) + f" {'growth':>8}")
    worst = 0.0
    for pid, values in rss.items():
        cells = [f"{v / 1024:15.1f}" if v is not None else f"{'gone':>15}" for v in values]
        first, last = values[1], values[-1]
        if first and last:
            growth = (last - first) / first
            worst = max(worst, growth)
            growth_cell = f"{growth:+8.1%}"
        else:
            growth_cell = f"{'-':>8}"
        print(f"{pid:>8} " + " ".join(cells) + f" {growth_cell}")
    if replaced:
        print(f"workers replaced during the runs (memory started over): {replaced}")
    verdict = "flat" if worst < FLAT and not replaced else "grows"
    print(
        f"largest growth from replay 1 to replay {args.replays}: {worst:+.1%} "
        f"({verdict}: the threshold is {FLAT:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Database and worker faults under load, against a private PostgreSQL (never the shared one).

    .venv/bin/python deploy/faults.py [--pg-port 7150] [--app-port 7160]

Starts its own PostgreSQL (initdb in a temporary folder; as the `postgres` user when run
as root, since PostgreSQL refuses root), serves MiniTwit with gunicorn and the production
settings against it, and keeps simulator-style clients writing (register, tweet, follow)
and reading through `simapi.simulator.client.Connection` while it injects, in turn:

  a. `kill -9` of a gunicorn worker, three times: no acknowledged write may be lost;
  b. PostgreSQL stopped (`pg_ctl stop -m fast`) for 5 s, then started: 503s come fast
     (time to the first one), no 500s, the app recovers by itself (time to the first
     success), no acknowledged write lost;
  c. PostgreSQL frozen (SIGSTOP to every server process) for 10 s, then SIGCONT: every
     request ends within a bound (the longest is printed), with 503s, not 500s or hangs;
     /health keeps answering at once and /ready says 503; the app recovers;
  d. connections exhausted (every `max_connections` slot held by this script): 503, not 500.

At the end every write a client saw acknowledged (204) is looked up in the database. Each
figure is printed; the exit status is 1 when any check fails. About a minute.
Details and the figures of the last run: docs/operations.md, "Database faults".
"""

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simapi.simulator.client import Connection, basic_authorization  # noqa: E402

CLIENTS = 4
REQUEST_TIMEOUT = 15.0  # the client's own limit: far above any bound the app should keep
# Pass marks. The app's own bounds are 2 s to connect and 1.5 s per query (500 ms
# statement_timeout + 1 s, minitwit_project/db/base.py); a request makes a few queries.
FIRST_503_WITHIN = 2.0
RECOVERY_WITHIN = 10.0
HANG_BOUND = 5.0
# /health does no database work, but with sync workers it waits for a free one.
HEALTH_BOUND = 2.5


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        sys.exit("deploy/faults.py needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)")
    return found[-1].parent


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:`port`, trust authentication."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.bin = pg_bin()
        self.data = workdir / "pgdata"
        self.logfile = workdir / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(workdir, "postgres")

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        return subprocess.run(
            [*prefix, *command], check=check, capture_output=True, text=True, timeout=60
        )

    def init(self, max_connections: int) -> None:
        self.run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.data}'\n"
                f"max_connections = {max_connections}\nshared_buffers = 16MB\n"
            )

    def start(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def processes(self) -> list[int]:
        """The postmaster and every server process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def signal_all(self, signum: int) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def url(self, database: str = "minitwit") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "minitwit", **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(database), connect_timeout=3, **kwargs)


@dataclass
class Outcome:
    started: float
    ended: float
    kind: str  # "write", "read", "health" or "ready"
    status: int | None  # None: no HTTP answer (connection error or client timeout)
    error: str = ""


@dataclass
class Load:
    """Simulator-style clients running in threads until stopped."""

    base_url: str
    outcomes: list[Outcome] = field(default_factory=list)
    # Each acknowledged message with the time its answer came, to tell which fault it met.
    acknowledged_messages: dict[str, float] = field(default_factory=dict)
    acknowledged_users: set[str] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def send(self, connection: Connection, kind: str, method: str, path: str, body=None):
        started = time.monotonic()
        try:
            status, _ = connection.request(method, path, body)
            outcome = Outcome(started, time.monotonic(), kind, status)
        except Exception as exc:  # noqa: BLE001 - every failure is a figure here
            outcome = Outcome(started, time.monotonic(), kind, None, type(exc).__name__)
        with self.lock:
            self.outcomes.append(outcome)
        return outcome.status

    def client(self, number: int) -> None:
        connection = Connection(
            self.base_url,
            timeout=REQUEST_TIMEOUT,
            keepalive=False,  # as the course simulator: a new connection per request
            authorization=basic_authorization("simulator", "super_safe!"),
        )
        name = f"fault{number}"
        while not self.stopping.is_set():
            body = {"username": name, "email": f"{name}@example.com", "pwd": "pw"}
            status = self.send(connection, "write", "POST", "/register", body)
            # 400 "username is already taken": an earlier try committed but its answer was lost.
            if status in (204, 400):
                with self.lock:
                    self.acknowledged_users.add(name)
                break
            time.sleep(0.05)
        sequence = 0
        while not self.stopping.is_set():
            sequence += 1
            content = f"{name} message {sequence} {secrets.token_hex(4)}"
            status = self.send(
                connection, "write", "POST", f"/msgs/{name}?latest={sequence}", {"content": content}
            )
            if status == 204:
                with self.lock:
                    self.acknowledged_messages[content] = time.monotonic()
            if sequence % 3 == 0:
                self.send(connection, "read", "GET", "/msgs?no=20")
            if sequence % 5 == 0:
                other = f"fault{(number + 1) % CLIENTS}"
                self.send(connection, "write", "POST", f"/fllws/{name}", {"follow": other})

    def probe(self) -> None:
        """/health and /ready, as an orchestrator asks them."""
        connection = Connection(
            self.base_url, timeout=REQUEST_TIMEOUT, keepalive=False, authorization=""
        )
        while not self.stopping.is_set():
            self.send(connection, "health", "GET", "/health")
            self.send(connection, "ready", "GET", "/ready")
            time.sleep(0.25)

    def start(self) -> None:
        targets = [lambda n=n: self.client(n) for n in range(CLIENTS)] + [self.probe]
        for target in targets:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 5)

    def between(self, start: float, end: float, kinds=("write", "read")) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if start <= o.started < end and o.kind in kinds]


class Checks:
    def __init__(self):
        self.failures: list[str] = []

    def check(self, ok: bool, figure: str) -> None:
        log(("ok    " if ok else "FAIL  ") + figure)
        if not ok:
            self.failures.append(figure)


def first_answer(outcomes: list[Outcome], after: float, status: int) -> float | None:
    """Seconds from `after` to the end of the first request answered with `status` that
    was started after `after`."""
    ends = [o.ended for o in outcomes if o.status == status and o.started >= after]
    return min(ends) - after if ends else None


def fives(outcomes: list[Outcome]) -> tuple[int, int]:
    return (
        sum(o.status == 500 for o in outcomes),
        sum(o.status == 503 for o in outcomes),
    )


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def wait_for(url_ok, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if url_ok():
            return True
        time.sleep(0.1)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("FAULTS_PG_PORT", 7150)))
    parser.add_argument(
        "--app-port", type=int, default=int(os.environ.get("FAULTS_APP_PORT", 7160))
    )
    args = parser.parse_args()

    checks = Checks()
    workdir = Path(tempfile.mkdtemp(prefix="minitwit-faults-"))
    pg = PrivatePostgres(args.pg_port, workdir)
    gunicorn = None
    load = None
    holders: list[psycopg.Connection] = []
    try:
        max_connections = 20
        pg.init(max_connections)
        pg.start()
        with pg.connect("postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE minitwit")
        base_url = f"http://127.0.0.1:{args.app_port}"
        env = {
            **os.environ,
            "MINITWIT_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": pg.url(),
            "MINITWIT_DATA_DIR": str(workdir),
            "STATIC_MANIFEST": "false",
            "GUNICORN_BIND": f"127.0.0.1:{args.app_port}",
            "WEB_CONCURRENCY": "3",
            "LOG_LEVEL": "ERROR",
            "GUNICORN_LOG_LEVEL": "warning",
        }
        env.pop("DB_STATEMENT_TIMEOUT", None)
        env.pop("DB_LOCK_TIMEOUT", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        gunicorn_bin = Path(sys.executable).parent / "gunicorn"
        server_log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the dir
        gunicorn = subprocess.Popen(
            [
                str(gunicorn_bin),
                "--config",
                "gunicorn.conf.py",
                "minitwit_project.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        probe = Connection(base_url, timeout=2, keepalive=False, authorization="")

        def ready() -> bool:
            try:
                return probe.request("GET", "/ready")[0] == 200
            except OSError:
                return False

        if not wait_for(ready, 60):
            raise RuntimeError("gunicorn did not become ready within 60 s")
        log(f"PostgreSQL {pg.bin.parent.name} on :{pg.port}, gunicorn on :{args.app_port}")

        load = Load(base_url)
        load.start()
        time.sleep(3)

        # a. kill -9 of a worker ---------------------------------------------------------
        start = time.monotonic()
        for _ in range(3):
            victim = worker_pids(gunicorn.pid)[0]
            os.kill(victim, signal.SIGKILL)
            time.sleep(1.5)
        killed = time.monotonic()
        # The next phase starts once the replacement workers serve writes again.
        if not wait_for(
            lambda: (
                load.between(killed, time.monotonic())
                and first_answer(load.between(killed, time.monotonic()), killed, 204) is not None
            ),
            60,
        ):
            raise RuntimeError("no write succeeded within 60 s of the last kill -9")
        outcomes = load.between(start, killed)
        failed = sum(o.status is None for o in outcomes)
        e500, _ = fives(outcomes)
        log(
            f"a. kill -9 x3: {len(outcomes)} requests, {failed} without an answer (in flight), "
            f"{e500} answered 500"
        )
        checks.check(e500 == 0, f"a. kill -9: 500s = {e500}")

        # b. PostgreSQL stopped for 5 s ----------------------------------------------------
        stopped = time.monotonic()
        pg.stop("fast")
        stop_done = time.monotonic()
        time.sleep(max(0.0, 5 - (stop_done - stopped)))
        restarted = time.monotonic()
        pg.start()
        time.sleep(4)
        outcomes = load.between(stopped, restarted)
        first_503 = first_answer(outcomes, stopped, 503)
        recovery = first_answer(load.between(restarted, time.monotonic()), restarted, 204)
        e500, e503 = fives(outcomes)
        slowest = max((o.ended - o.started for o in outcomes), default=0)
        log(
            f"b. stop 5 s: {len(outcomes)} requests, {e503} x 503, {e500} x 500, slowest "
            f"{slowest:.2f} s; pg_ctl stop took {stop_done - stopped:.2f} s"
        )
        checks.check(
            first_503 is not None and first_503 <= FIRST_503_WITHIN,
            f"b. stop: time to first 503 = {_seconds(first_503)}",
        )
        checks.check(e500 == 0, f"b. stop: 500s = {e500}")
        checks.check(
            recovery is not None and recovery <= RECOVERY_WITHIN,
            f"b. stop: recovery after start = {_seconds(recovery)}",
        )

        # c. PostgreSQL frozen for 10 s ----------------------------------------------------
        frozen = time.monotonic()
        pg.signal_all(signal.SIGSTOP)
        time.sleep(10)
        thawed = time.monotonic()
        pg.signal_all(signal.SIGCONT)
        time.sleep(4)
        # Requests started while frozen, wherever they ended.
        outcomes = load.between(frozen, thawed)
        first_503 = first_answer(outcomes, frozen, 503)
        longest = max((o.ended - o.started for o in outcomes), default=0)
        unanswered = sum(o.status is None for o in outcomes)
        e500, e503 = fives(outcomes)
        health = load.between(frozen, thawed, kinds=("health",))
        health_longest = max((o.ended - o.started for o in health), default=0)
        ready_during = load.between(frozen, thawed, kinds=("ready",))
        ready_longest = max((o.ended - o.started for o in ready_during), default=0)
        ready_503 = sum(o.status == 503 for o in ready_during)
        recovery = first_answer(load.between(thawed, time.monotonic()), thawed, 204)
        log(
            f"c. freeze 10 s: {len(outcomes)} requests, {e503} x 503, {e500} x 500, "
            f"{unanswered} unanswered; first 503 after {_seconds(first_503)}"
        )
        checks.check(longest <= HANG_BOUND, f"c. freeze: longest request = {longest:.2f} s")
        checks.check(
            e500 == 0 and unanswered == 0 and e503 > 0,
            f"c. freeze: 503s = {e503}, 500s = {e500}, unanswered = {unanswered}",
        )
        checks.check(
            health_longest <= HEALTH_BOUND, f"c. freeze: longest /health = {health_longest:.2f} s"
        )
        checks.check(
            ready_503 > 0 and ready_longest <= HANG_BOUND,
            f"c. freeze: /ready 503 x {ready_503}, longest {ready_longest:.2f} s",
        )
        checks.check(
            recovery is not None and recovery <= RECOVERY_WITHIN,
            f"c. freeze: recovery after SIGCONT = {_seconds(recovery)}",
        )

        # d. connections exhausted ---------------------------------------------------------
        exhausted = time.monotonic()
        holders.extend(_exhaust(pg, max_connections))
        time.sleep(3)
        outcomes = load.between(exhausted, time.monotonic())
        e500, e503 = fives(outcomes)
        for holder in holders:
            holder.close()
        holders.clear()
        released = time.monotonic()
        time.sleep(3)
        recovery = first_answer(load.between(released, time.monotonic()), released, 204)
        log(f"d. max_connections: {len(outcomes)} requests, {e503} x 503, {e500} x 500")
        checks.check(e503 > 0 and e500 == 0, f"d. exhausted: 503s = {e503}, 500s = {e500}")
        checks.check(
            recovery is not None and recovery <= RECOVERY_WITHIN,
            f"d. exhausted: recovery after release = {_seconds(recovery)}",
        )

        phases = {
            "a. kill -9": (start, killed),
            "b. stop": (stopped, restarted + 4),
            "c. freeze": (frozen, thawed + 4),
            "d. exhausted": (exhausted, released + 3),
        }
        load.stop()
        # Acknowledged writes --------------------------------------------------------------
        with pg.connect() as db:
            texts = {row[0] for row in db.execute("SELECT text FROM minitwit_message")}
            users = {row[0] for row in db.execute("SELECT username FROM minitwit_user")}
        lost_messages = load.acknowledged_messages.keys() - texts
        lost_users = load.acknowledged_users - users
        for phase, (begin, end) in phases.items():
            during = [m for m, at in load.acknowledged_messages.items() if begin <= at < end]
            lost = sum(m in lost_messages for m in during)
            checks.check(lost == 0, f"{phase}: acknowledged writes lost = {lost} of {len(during)}")
        log(
            f"acknowledged: {len(load.acknowledged_messages)} messages, "
            f"{len(load.acknowledged_users)} users; {len(load.outcomes)} requests in all"
        )
        checks.check(
            not lost_messages and not lost_users,
            f"acknowledged writes lost = {len(lost_messages) + len(lost_users)}",
        )
    except Exception as exc:  # noqa: BLE001 - reported as a failure with its cause
        checks.check(False, f"the run stopped: {type(exc).__name__}: {exc}")
    finally:
        if load is not None:
            load.stop()
        for holder in holders:
            holder.close()
        if gunicorn is not None:
            gunicorn.terminate()
            try:
                gunicorn.wait(30)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        with contextlib.suppress(OSError, ValueError):
            pg.signal_all(signal.SIGCONT)
        pg.stop("immediate")
        if checks.failures and (workdir / "gunicorn.log").exists():
            print("--- last lines of the server's log:")
            print("".join((workdir / "gunicorn.log").read_text().splitlines(True)[-30:]))
        shutil.rmtree(workdir, ignore_errors=True)
    if checks.failures:
        log(f"{len(checks.failures)} check(s) failed")
        return 1
    log("every check passed")
    return 0


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _exhaust(pg: PrivatePostgres, max_connections: int) -> list[psycopg.Connection]:
    """Take every connection slot: fill the free ones, end the app's connections, and take
    their slots before the app can reconnect, until the app holds none."""
    holders: list[psycopg.Connection] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        while len(holders) < max_connections:
            try:
                holders.append(pg.connect(autocommit=True))
            except psycopg.OperationalError:
                break
        if len(holders) >= max_connections:
            break
        mine = [h.info.backend_pid for h in holders]
        holders[0].execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND NOT pid = ANY(%s)",
            (mine,),
        )
    log(f"d. holding {len(holders)} of {max_connections} connections")
    return holders


if __name__ == "__main__":
    sys.exit(main())

"""The servers the benchmark measures, and the scratch PostgreSQL databases it gives ours.

Each server is a gunicorn started here on a free loopback port, in its own process group,
and stopped here; `/proc` gives its processes' CPU time and the workers' memory.
"""

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpload
import redis

READY_TIMEOUT = 90.0
LOG_TAIL_LINES = 30
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    """A server did not start, a setup step failed: the benchmark cannot go on."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Live child processes of `pid` (gunicorn's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _proc_stat(int(entry))
            if fields and int(fields[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and of all its children, live (their own counters) and reaped
    (accounted to the parent: recycled workers keep counting)."""
    total = 0.0
    for process in [pid, *children(pid)]:
        fields = _proc_stat(process)
        if fields:
            # utime, stime, cutime, cstime: fields 14-17, here at 11-14.
            total += sum(int(value) for value in fields[11:15]) / _CLOCK_TICKS
    return total


def rss_bytes(pid: int) -> int:
    fields = _proc_stat(pid)
    return int(fields[21]) * _PAGE_SIZE if fields else 0


@dataclass
class Server:
    """A running gunicorn: `name` for the tables, `address` to send requests to."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path
    workdir: Path
    ready_request: bytes
    owns_workdir: bool = True
    worker_pids_seen: set[int] = field(default_factory=set)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        pids = children(self.process.pid)
        self.worker_pids_seen.update(pids)
        return pids

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def worker_rss(self) -> list[int]:
        return [rss_bytes(pid) for pid in self.workers()]

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def wait_ready(self) -> None:
        """Until it answers, then until its processes stop burning CPU (every worker has
        imported the app), so no run measures a server that is still booting."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name}: gunicorn exited with status {self.process.returncode} "
                    f"before answering. The end of its log:\n{self.log_tail()}"
                )
            status, _, _ = httpload.fetch(self.address, self.ready_request, 2.0)
            if status > 0:
                break
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.name}: no answer on {self.host} within {READY_TIMEOUT:g} s. "
                    f"Its log:\n{self.log_tail()}"
                )
            time.sleep(0.2)
        quiet_since = None
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.cpu_seconds()
            busy = (now - last) / 0.25
            last = now
            if busy < 0.05 and self.workers():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 0.75:
                    break
            else:
                quiet_since = None
        self.workers()
        if self.process.poll() is not None:
            raise BenchError(f"{self.name}: gunicorn exited while booting:\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(
                f"{self.name}: gunicorn died during the run (status {self.process.returncode})."
                f" Its log:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_gunicorn(
    name: str,
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    port: int,
    workdir: Path,
    ready_request: bytes,
    owns_workdir: bool = True,
) -> Server:
    log_path = workdir / "server.log"
    if "--config" not in command:
        # gunicorn's runtime control socket has one default path per user, which two servers
        # on one machine would fight over (gunicorn.conf.py turns it off for ours).
        command = [*command, "--no-control-socket"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: stopping it stops its workers, and only them.
            start_new_session=True,
        )
    server = Server(name, process, port, log_path, workdir, ready_request, owns_workdir)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


# --- the course reference -------------------------------------------------------------------

REFERENCE_FILES = ("minitwit_sim_api.py", "minitwit.py", "schema.sql")
# minitwit.py keeps its SQLite file at this absolute path, which two runs on one machine
# would share (and the API deletes it at start); the scratch copy points it at its own
# directory, on the same file system kind as /tmp. This is the only change to the code.
REFERENCE_DB_LINE = 'DATABASE = "/tmp/minitwit.db"'


def check_reference_dir(directory: Path) -> list[str]:
    """The files missing from a course reference directory (empty: usable)."""
    return [name for name in REFERENCE_FILES if not (directory / name).is_file()]


def reference_venv(requirements: Path, *, log) -> Path:
    """A virtualenv with the reference's pinned dependencies, made once per requirements
    file and Python version and reused (in the user's cache directory)."""
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "minitwit-bench" / f"reference-venv-{digest}"
    marker = venv / ".installed"
    if marker.exists():
        return venv
    log(f"installing the reference's dependencies ({requirements.name}) into {venv}")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check", "-r",
         str(requirements)],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise BenchError(f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}")
    marker.touch()
    return venv


def start_reference(source: Path, venv: Path, *, workers: int, authorization: str) -> Server:
    """The course's minitwit_sim_api.py under gunicorn (sync workers), in a scratch copy of
    its directory: it deletes and recreates its database and `latest` file at start."""
    workdir = Path(tempfile.mkdtemp(prefix="minitwit-bench-reference-"))
    for name in REFERENCE_FILES:
        shutil.copy(source / name, workdir / name)
    module = workdir / "minitwit.py"
    text = module.read_text()
    if text.count(REFERENCE_DB_LINE) != 1:
        shutil.rmtree(workdir, ignore_errors=True)
        raise BenchError(
            f"{source / 'minitwit.py'}: expected the line {REFERENCE_DB_LINE!r} once, to "
            "give the reference its own database file; is this the course's minitwit.py?"
        )
    module.write_text(
        text.replace(REFERENCE_DB_LINE, f"DATABASE = {str(workdir / 'minitwit.db')!r}")
    )
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return start_gunicorn(
        "course reference",
        [str(venv / "bin/gunicorn"), "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "minitwit_sim_api:app"],
        cwd=workdir,
        env=env,
        port=port,
        workdir=workdir,
        # GET /msgs reads the database and, without `latest`, writes nothing.
        ready_request=httpload.build_request(
            "GET", "/msgs?no=1", host=f"127.0.0.1:{port}",
            headers=[("Authorization", authorization)],
        ),
    )  # fmt: skip


def start_empty(gunicorn: Path, *, workers: int) -> Server:
    """The 204 server (benchmarks/empty_app.py), served like the reference."""
    workdir = Path(tempfile.mkdtemp(prefix="minitwit-bench-empty-"))
    port = free_port()
    return start_gunicorn(
        "204 server",
        [str(gunicorn), "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(Path(__file__).parent),
         "empty_app:application"],
        cwd=workdir,
        env=dict(os.environ),
        port=port,
        workdir=workdir,
        ready_request=httpload.build_request("GET", "/", host=f"127.0.0.1:{port}"),
    )  # fmt: skip


# --- this project -----------------------------------------------------------------------

# The settings that shape how our server runs; the report names any the caller set.
OUR_KNOBS = (
    "MINITWIT_ENV", "DEBUG", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
    "DB_CONN_MAX_AGE", "LOG_LEVEL", "CACHE_URL",
)  # fmt: skip


def redis_reachable(url: str) -> bool:
    """Whether a Redis server answers PING at `url` (redis://host:port/db)."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def empty_cache(url: str | None) -> None:
    """Empty the read cache's Redis database, so that every server starts cold."""
    if url:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).flushdb()


def our_env(database_url: str, *, port: int, data_dir: Path) -> dict[str, str]:
    """The caller's environment, so `WEB_CONCURRENCY=3 make bench` measures that, with
    the database, address and data directory of this run. DEBUG is off unless the caller
    set it: development's default (on) keeps every query in memory, production never has
    it."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        MINITWIT_DATA_DIR=str(data_dir),
    )
    env.setdefault("DEBUG", "false")
    env.pop("DATABASE_PASSWORD", None)
    env.pop("DATABASE_PASSWORD_FILE", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes a fresh one
    return env


def manage(checkout: Path, env: dict[str, str], *args: str, quiet: bool = True) -> str:
    done = subprocess.run(
        [str(checkout / ".venv/bin/python"), "manage.py", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BenchError(
            f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def start_ours(checkout: Path, database_url: str) -> Server:
    """This project the production way: gunicorn with the checkout's gunicorn.conf.py."""
    workdir = Path(tempfile.mkdtemp(prefix="minitwit-bench-ours-"))
    port = free_port()
    env = our_env(database_url, port=port, data_dir=workdir)
    empty_cache(env.get("CACHE_URL"))
    return start_gunicorn(
        "this project",
        [str(checkout / ".venv/bin/gunicorn"), "--config", "gunicorn.conf.py",
         "minitwit_project.wsgi:application"],
        cwd=checkout,
        env=env,
        port=port,
        workdir=workdir,
        ready_request=httpload.build_request("GET", "/health", host=f"127.0.0.1:{port}"),
    )  # fmt: skip


class Databases:
    """Scratch PostgreSQL databases with a name unique to this run, all dropped at the end.

    A template database is migrated once; every fresh database is a copy of it
    (CREATE DATABASE … TEMPLATE), which takes a second instead of a migration.
    """

    def __init__(self, server_url: str, checkout: Path):
        self.server_url = server_url.rstrip("/")
        self.checkout = checkout
        self.prefix = f"bench_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []
        self.template: str | None = None

    def url(self, name: str) -> str:
        return f"{self.server_url}/{name}"

    def psql(self, sql: str, *, database: str = "postgres") -> list[list[str]]:
        """Run SQL; rows as lists of strings (unit-separator delimited)."""
        done = subprocess.run(
            ["psql", self.url(database), "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\x1f",
             "-c", sql],
            capture_output=True,
            text=True,
            env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"},
        )  # fmt: skip
        if done.returncode != 0:
            raise BenchError(f"psql failed on {database}: {sql}\n{done.stderr}")
        return [line.split("\x1f") for line in done.stdout.splitlines() if line]

    def check_server(self) -> None:
        try:
            self.psql("SELECT 1")
        except (BenchError, OSError) as exc:
            raise BenchError(
                f"PostgreSQL is not reachable at {self.server_url} (needed for this "
                f"project's server): {exc}"
            ) from exc

    def migrated_template(self) -> str:
        if self.template is None:
            name = f"{self.prefix}_template"
            self.psql(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            env = our_env(self.url(name), port=0, data_dir=Path(tempfile.gettempdir()))
            manage(self.checkout, env, "migrate", "--noinput", "--verbosity", "0")
            self.template = name
        return self.template

    def fresh(self, purpose: str) -> str:
        """A new, migrated, empty database; returns its URL."""
        template = self.migrated_template()
        name = f"{self.prefix}_{purpose}"
        self.drop(name)
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all_but_template(self) -> None:
        """Drop this run's databases except the migrated template (done with a server)."""
        for name in [n for n in self.created if n != self.template]:
            self.drop(name)
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in reversed(self.created):
            try:
                self.drop(name)
            except BenchError as exc:
                print(f"warning: could not drop {name}: {exc}", file=sys.stderr)
        self.created.clear()

"""Backups that restore: deploy/backup/backup.sh and restore.sh against the real PostgreSQL.

These are the scripts the stack's `backup` service runs. The tests need PostgreSQL and its
client tools, so they run when DATABASE_URL points at PostgreSQL (CI's PostgreSQL pass) and
are skipped on SQLite. Each test database is named after DATABASE_URL's database plus a
random suffix, and dropped at the end.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
BACKUP_SH = ROOT / "deploy" / "backup" / "backup.sh"
RESTORE_SH = ROOT / "deploy" / "backup" / "restore.sh"
SCHEDULE_SH = ROOT / "deploy" / "backup" / "schedule.sh"
SECRET_KEY = "backup-restore-test-" + "k" * 40

# Names and passwords as the simulator sends them: Unicode, spaces, quotes, backslashes.
USERS = [
    ("Roger Histand", "Roger+Histand@hotmail.com", "]=)[X{Km{z"),
    ("Ærø O'Brien", "aero@example.com", "6cl_[\\"),
    ("Wendell Ballan", "Wendell-Ballan@gmail.com", 'Qm"oZ=.D0'),
]

LOAD_DATA = """
import json, sys
from simapi.latest_counter import latest_counter_record
from timeline import services
users = [
    services.user_register(username=name, email=email, password=password)
    for name, email, password in json.loads(sys.argv[1])
]
for user in users:
    for message in range(5):
        text = f"message {message} of {user.username} \\u2713"
        services.message_create(author_id=user.pk, text=text)
services.follow_create(follower_id=users[0].pk, followed_id=users[1].pk)
services.follow_create(follower_id=users[1].pk, followed_id=users[2].pk)
services.follow_create(follower_id=users[2].pk, followed_id=users[0].pk)
latest_counter_record(value=25921)
"""

SIGN_IN = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
username, password = sys.argv[1], sys.argv[2]
client = Client()
response = client.post("/login", {"username": username, "password": password})
timeline = client.get("/")
# A marked line: the app's own JSON request log shares stdout.
print("SIGN-IN " + json.dumps({
    "status": response.status_code,
    "location": response.headers.get("Location"),
    "error": "Invalid password" in response.content.decode(),
    "timeline": timeline.content.decode() if timeline.status_code == 200 else "",
}))
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        pytest.skip("backups are tested against PostgreSQL (DATABASE_URL=postgres://...)")
    for tool in ("pg_dump", "pg_restore", "psql", "createdb", "dropdb", "sha256sum"):
        assert shutil.which(tool), f"{tool} is needed to test the backup scripts"
    return dj_database_url.parse(url)


def _libpq_env(server, database: str = "postgres") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGHOST=server["HOST"] or "127.0.0.1",
        PGPORT=str(server["PORT"] or 5432),
        PGUSER=server["USER"] or "postgres",
        PGDATABASE=database,
    )
    if server["PASSWORD"]:
        env["PGPASSWORD"] = server["PASSWORD"]
    return env


def _connect(server, database: str):
    return psycopg.connect(
        host=server["HOST"] or "127.0.0.1",
        port=server["PORT"] or 5432,
        user=server["USER"] or "postgres",
        password=server["PASSWORD"] or None,
        dbname=database,
        autocommit=True,
    )


def _database_url(server, database: str) -> str:
    user = server["USER"] or "postgres"
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    address = f"{server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}"
    return f"postgres://{user}{password}@{address}/{database}"


def _django_env(server, database: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update(
        DJANGO_SETTINGS_MODULE="minitwit_project.settings",
        DATABASE_URL=_database_url(server, database),
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="testserver",
    )
    return env


def _sign_in(server, database: str, username: str, password: str) -> dict:
    """Sign in through the real login view (Django's test client) against `database`."""
    output = _run(
        [sys.executable, "-c", SIGN_IN, username, password], _django_env(server, database)
    )
    marked = [line for line in output.stdout.splitlines() if line.startswith("SIGN-IN ")]
    assert len(marked) == 1, output.stdout
    return json.loads(marked[0].removeprefix("SIGN-IN "))


def _run(args, env, *, check=True, timeout=120):
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _drop(server, database: str) -> None:
    with _connect(server, "postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def _row_counts(server, database: str) -> dict[str, int]:
    with _connect(server, database) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }


@pytest.fixture(scope="module")
def database_names(server):
    prefix = f"{server['NAME']}_backup_{uuid.uuid4().hex[:8]}"
    created: list[str] = []

    def new(suffix: str) -> str:
        created.append(f"{prefix}_{suffix}")
        return created[-1]

    yield new
    for name in created:
        _drop(server, name)


@pytest.fixture(scope="module")
def source_database(server, database_names):
    """A migrated MiniTwit database with users, messages, follows, `latest` and a session."""
    name = database_names("source")
    with _connect(server, "postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = _django_env(server, name)
    _run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
    _run([sys.executable, "-c", _with_setup(LOAD_DATA), json.dumps(USERS)], env)
    # A sign-in leaves a session row behind: sessions must survive a restore too.
    assert _sign_in(server, name, USERS[0][0], USERS[0][2])["status"] == 302
    return name


def _with_setup(code: str) -> str:
    return "import django\ndjango.setup()\n" + code


@pytest.fixture(scope="module")
def backup(server, source_database, tmp_path_factory):
    """One run of backup.sh, as the stack's backup service would make it."""
    base = tmp_path_factory.mktemp("backups")
    env = _libpq_env(server, source_database)
    env.update(BACKUP_DIR=str(base / "local"), BACKUP_OFFSITE_DIR=str(base / "offsite"))
    started = time.monotonic()
    result = _run([BACKUP_SH], env)
    dump = Path(result.stdout.strip())
    print(f"backup.sh: {time.monotonic() - started:.2f} s, {dump.stat().st_size} bytes")
    return dump


def test_a_backup_is_a_checksummed_dump_with_an_identical_off_site_copy(backup):
    assert backup.name.startswith("minitwit-") and backup.suffix == ".dump"
    offsite = backup.parent.parent / "offsite" / backup.name
    assert offsite.read_bytes() == backup.read_bytes()
    checksum = (backup.parent / f"{backup.name}.sha256").read_text().split()
    assert checksum[1] == backup.name
    assert (offsite.parent / f"{backup.name}.sha256").exists()
    assert (backup.parent / ".last-success").exists()


def test_a_restored_backup_has_every_row_and_its_users_can_sign_in(
    server, source_database, backup, database_names
):
    target = database_names("restored")
    started = time.monotonic()
    result = _run([RESTORE_SH, backup, target], _libpq_env(server))
    print(f"restore.sh: {time.monotonic() - started:.2f} s")

    source_counts = _row_counts(server, source_database)
    restored_counts = _row_counts(server, target)
    assert restored_counts == source_counts
    assert source_counts["minitwit_user"] == len(USERS)
    assert source_counts["minitwit_message"] == 5 * len(USERS)
    assert source_counts["minitwit_follow"] == 3
    assert source_counts["django_session"] >= 1
    # restore.sh reports the counts it restored, for the operator to compare.
    assert f"minitwit_message {5 * len(USERS)}" in result.stdout

    with _connect(server, target) as conn:
        texts = {row[0] for row in conn.execute("SELECT text FROM minitwit_message")}
        latest = conn.execute("SELECT latest FROM minitwit_simulator_state").fetchone()[0]
    assert f"message 4 of {USERS[1][0]} \u2713" in texts
    assert latest == 25921

    for username, _email, password in USERS:
        signed_in = _sign_in(server, target, username, password)
        assert signed_in["status"] == 302 and signed_in["location"] == "/"
        assert "My Timeline" in signed_in["timeline"]
    refused = _sign_in(server, target, USERS[0][0], "wrong")
    assert refused["status"] == 200 and refused["error"]


def test_restore_refuses_to_overwrite_an_existing_database(server, source_database, backup):
    result = _run([RESTORE_SH, backup, source_database], _libpq_env(server), check=False)
    assert result.returncode != 0
    assert "already exists" in result.stderr
    assert _row_counts(server, source_database)["minitwit_user"] == len(USERS)


def test_restore_refuses_a_damaged_backup_and_leaves_no_database(
    server, backup, database_names, tmp_path
):
    damaged = tmp_path / backup.name
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    shutil.copy(backup.parent / f"{backup.name}.sha256", tmp_path)
    target = database_names("damaged")

    result = _run([RESTORE_SH, damaged, target], _libpq_env(server), check=False)

    assert result.returncode != 0
    assert "damaged" in result.stderr
    with _connect(server, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone()
    assert exists is None


def test_backups_past_their_retention_are_deleted_and_recent_ones_kept(
    server, source_database, tmp_path
):
    local, offsite = tmp_path / "local", tmp_path / "offsite"
    for directory in (local, offsite):
        directory.mkdir()
        for name, days_old in (("minitwit-20200101T030000Z.dump", 30), ("minitwit-x.dump", 5)):
            for path in (directory / name, directory / f"{name}.sha256"):
                path.write_text("old")
                stamp = time.time() - days_old * 86400
                os.utime(path, (stamp, stamp))
    env = _libpq_env(server, source_database)
    env.update(BACKUP_DIR=str(local), BACKUP_OFFSITE_DIR=str(offsite), BACKUP_RETENTION_DAYS="14")

    new = Path(_run([BACKUP_SH], env).stdout.strip())

    for directory in (local, offsite):
        kept = sorted(path.name for path in directory.glob("minitwit-*.dump"))
        assert kept == sorted([new.name, "minitwit-x.dump"])
        assert not (directory / "minitwit-20200101T030000Z.dump.sha256").exists()


def test_a_failing_backup_reports_an_error_and_deletes_nothing(server, tmp_path):
    old = tmp_path / "minitwit-20200101T030000Z.dump"
    old.write_text("old")
    stamp = time.time() - 30 * 86400
    os.utime(old, (stamp, stamp))
    env = _libpq_env(server, "database_that_does_not_exist_" + uuid.uuid4().hex[:8])
    env.update(BACKUP_DIR=str(tmp_path), BACKUP_RETENTION_DAYS="14")

    result = _run([BACKUP_SH], env, check=False)

    assert result.returncode != 0
    assert old.exists()
    assert not (tmp_path / ".last-success").exists()
    assert not list(tmp_path.glob(".*.partial"))


def _schedule_check(backup_dir: Path) -> int:
    env = {**os.environ, "BACKUP_DIR": str(backup_dir), "BACKUP_MAX_AGE_HOURS": "26"}
    return _run([SCHEDULE_SH, "check"], env, check=False).returncode


def test_the_backup_service_is_unhealthy_without_a_recent_backup(tmp_path):
    assert _schedule_check(tmp_path) != 0
    marker = tmp_path / ".last-success"
    marker.touch()
    assert _schedule_check(tmp_path) == 0
    stamp = time.time() - 27 * 3600
    os.utime(marker, (stamp, stamp))
    assert _schedule_check(tmp_path) != 0


def test_the_backup_service_backs_up_at_start_and_stops_promptly(server, source_database, tmp_path):
    env = _libpq_env(server, source_database)
    env.update(BACKUP_DIR=str(tmp_path), BACKUP_TIME="03:00")
    service = subprocess.Popen([SCHEDULE_SH], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    # The log is read as it comes: the service is stopped only once it says it is waiting for
    # the next run (stopping it as soon as the backup exists raced its next log line).
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(service.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("next backup in" in line for line in lines) and time.monotonic() < deadline:
            assert service.poll() is None, "".join(lines)
            time.sleep(0.2)
        assert len(list(tmp_path.glob("minitwit-*.dump"))) == 1
        assert _schedule_check(tmp_path) == 0
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=10)
    reader.join(5)
    assert service.returncode == 0
    assert any("next backup in" in line for line in lines), "".join(lines)

"""Settings come from the environment, and production refuses to run without secrets."""

import os
import subprocess
import sys

from .conftest import ROOT, load_settings


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = load_settings({"MINITWIT_ENV": "production", "ALLOWED_HOSTS": "x"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_secret_key(tmp_path):
    env = {"MINITWIT_ENV": "production", "ALLOWED_HOSTS": "x", "SECRET_KEY": "short"}
    result = load_settings(env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "too weak" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    env = {"MINITWIT_ENV": "production", "SECRET_KEY": "k" * 50}
    result = load_settings(env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_refuses_debug(tmp_path):
    env = {"MINITWIT_ENV": "production", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "x"}
    result = load_settings({**env, "DEBUG": "true"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_secrets_can_come_from_docker_secret_files(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("s" * 50 + "\n")
    env = {"MINITWIT_ENV": "production", "ALLOWED_HOSTS": "x", "SECRET_KEY_FILE": str(secret)}
    result = load_settings(env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # The probe prints last; production may log its start-up warnings before it.
    assert result.stdout.strip().splitlines()[-1] == "s" * 50


def test_an_unreadable_secret_file_is_a_clear_error(tmp_path):
    env = {"SECRET_KEY_FILE": str(tmp_path / "missing")}
    result = load_settings(env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr and "cannot be read" in result.stderr


def test_development_generates_a_key_once_and_keeps_it(tmp_path):
    first = load_settings({}, tmp_path=tmp_path)
    second = load_settings({}, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_database_url_selects_postgresql(tmp_path):
    env = {"DATABASE_URL": "postgres://u:p@db.example:5433/minitwit"}
    result = load_settings(env, "settings.DATABASES['default']['HOST']", tmp_path=tmp_path)
    assert result.stdout.strip() == "db.example"


def test_a_malformed_boolean_is_refused(tmp_path):
    result = load_settings({"DEBUG": "maybe"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_an_integer_setting_must_be_written_in_ascii_digits(tmp_path):
    # int() would read "٦٠" as 60; the setting is refused instead of silently taken.
    result = load_settings({"DB_CONN_MAX_AGE": "٦٠"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE='٦٠' is not an integer" in result.stderr
    result = load_settings({"DB_CONN_MAX_AGE": "60"}, "settings.DATABASES", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def production_env(tmp_path) -> dict:
    return {
        "MINITWIT_ENV": "production",
        "SECRET_KEY": "a-random-looking-secret-key-for-check-deploy-0123456789",
        "ALLOWED_HOSTS": "minitwit.example.com",
        "MINITWIT_DATA_DIR": str(tmp_path),
    }


def test_check_deploy_is_clean_in_production(tmp_path):
    # The browser tests allow Django's async-unsafe calls for this whole test process; a
    # deployment never does, and check --deploy says so (async.E001).
    unset = {"DATABASE_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **production_env(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues (3 silenced)" in result.stdout


PG_URL = "postgres://u@db.example:5432/minitwit"


def test_database_waits_are_bounded_by_default(tmp_path):
    result = load_settings(
        {"DATABASE_URL": PG_URL}, "settings.DATABASES['default']['OPTIONS']", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "'connect_timeout': 2" in result.stdout
    assert "-c statement_timeout=500 -c lock_timeout=250" in result.stdout


def test_database_timeouts_come_from_the_environment(tmp_path):
    env = {
        "DATABASE_URL": PG_URL,
        "DB_CONNECT_TIMEOUT": "5",
        "DB_STATEMENT_TIMEOUT": "2000",
        "DB_LOCK_TIMEOUT": "0",
    }
    result = load_settings(env, "settings.DATABASES['default']['OPTIONS']", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "'connect_timeout': 5" in result.stdout
    assert "-c statement_timeout=2000 -c lock_timeout=0" in result.stdout


def test_operator_commands_run_without_the_request_limits(tmp_path):
    # A migration on a big table must not fail at the web request's 500 ms.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    script = (
        "import sys; sys.argv = ['manage.py', 'shell', '-v', '0', '-c', "
        "'from django.conf import settings; print(settings.DB_STATEMENT_TIMEOUT, "
        "settings.DB_LOCK_TIMEOUT)']; import manage; manage.main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "MINITWIT_DATA_DIR": str(tmp_path), "DATABASE_URL": "sqlite:///:memory:"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0"]

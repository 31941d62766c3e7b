"""Settings come from the environment, and production refuses to run without secrets."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import django; django.setup(); from django.conf import settings; print({expr})"


def load_settings(env: dict, expr: str = "settings.SECRET_KEY", tmp_path=None):
    """Import the settings in a fresh interpreter with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "minitwit_project.settings", **env})
    if tmp_path is not None:
        clean.setdefault("MINITWIT_DATA_DIR", str(tmp_path))
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(expr=expr)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
    assert result.stdout.strip() == "s" * 50


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

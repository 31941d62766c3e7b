import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from .factories import UserFactory


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory):
    """A migrated SQLite database file, made once per test run (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("shell_db") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env=_shell_env(path),
        check=True,
    )
    return path


@pytest.fixture
def manage_py(_migrated_sqlite_file, tmp_path):
    """Run `manage.py <args>` in a real process on a fresh SQLite copy, as an operator's
    script would, returning the CompletedProcess (exit status, stdout, stderr)."""
    path = tmp_path / "db.sqlite3"
    shutil.copy(_migrated_sqlite_file, path)

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *[str(a) for a in args]],
            cwd=settings.BASE_DIR,
            env=_shell_env(path),
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def _shell_env(database: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{database}",
        "MINITWIT_DATA_DIR": str(database.parent),
    }

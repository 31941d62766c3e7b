"""Wall time of the bulk commands on PostgreSQL: generate_data and import_legacy.

Each runs as `manage.py` would for an operator, into a freshly created and migrated
database (the one the URL names; first the import, then the generation), which is
dropped afterwards unless --keep:

    .venv/bin/python benchmarks/bulk_commands.py postgres://postgres@127.0.0.1:5432/bench \\
        [--users 100000] [--messages 1000000] [--follows-per-user 10] [--keep]

The import uses ../shared/legacy/minitwit_legacy.db (or --legacy PATH) when present.
With --keep the generated database stays for benchmarks/admin_list.py.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
LEGACY_DB = ROOT.parent / "shared" / "legacy" / "minitwit_legacy.db"


def manage(database_url: str, *args: str) -> tuple[float, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *args, "--verbosity", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout


def fresh_database(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    manage(url, "migrate", "--noinput")
    return url


def drop_database(server_url: str, name: str) -> None:
    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url", help="postgres://.../<name>; <name> is (re)created")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--follows-per-user", type=float, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--legacy", type=Path, default=LEGACY_DB, help="legacy SQLite file")
    options = parser.parse_args()
    name = options.database_url.rpartition("/")[2]

    if options.legacy.exists():
        url = fresh_database(options.database_url, name)
        seconds, out = manage(url, "import_legacy", str(options.legacy))
        print("\n".join(out.splitlines()[:5]))
        print(f"import_legacy: {seconds:.1f} s wall, process start included")
        seconds, out = manage(url, "import_legacy", str(options.legacy))
        print(f"import_legacy again: {seconds:.1f} s wall; {out.splitlines()[-1]}")
    else:
        print(f"import_legacy: skipped, {options.legacy} is not present")

    url = fresh_database(options.database_url, name)
    seconds, out = manage(
        url,
        "generate_data",
        "--users",
        str(options.users),
        "--messages",
        str(options.messages),
        "--follows-per-user",
        str(options.follows_per_user),
        "--seed",
        "42",
    )
    print(out.splitlines()[0])
    rows = options.users + options.messages + int(options.users * options.follows_per_user)
    print(
        f"generate_data: {seconds:.1f} s wall, process start included "
        f"(~{rows / seconds:,.0f} rows/s)"
    )
    if not options.keep:
        drop_database(options.database_url, name)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# How long a backup and a restore take on a database of realistic size:
#
#   benchmarks/backup_restore.sh [MESSAGES]    (default 1,000,000 messages, 10,000 users)
#
# Fills a scratch database with `manage.py generate_data`, runs deploy/backup/backup.sh on it
# (as the stack's backup service does), restores the dump with deploy/backup/restore.sh into
# a second scratch database, and prints the database and dump sizes, the rows restored and
# the seconds each step took. Both databases are dropped at the end.
# Needs .venv (make install) and PostgreSQL at BENCH_PG_URL (default
# postgres://postgres@127.0.0.1:5432); BENCH_USERS sets the users, BENCH_DB_PREFIX the
# databases' name prefix (default minitwit_bench_backup).
set -euo pipefail
cd "$(dirname "$0")/.."

messages="${1:-1000000}"
users="${BENCH_USERS:-10000}"
pg_url="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
prefix="${BENCH_DB_PREFIX:-minitwit_bench_backup}"
python=.venv/bin/python
source_db="${prefix}_$$_source"
restored_db="${prefix}_$$_restored"
work="$(mktemp -d)"

cleanup() {
    psql "$pg_url/postgres" --quiet --no-psqlrc \
        --command="DROP DATABASE IF EXISTS $source_db WITH (FORCE)" \
        --command="DROP DATABASE IF EXISTS $restored_db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# libpq's variables for the scripts, from the URL.
eval "$("$python" - "$pg_url" <<'PY'
import shlex, sys
from urllib.parse import urlsplit
url = urlsplit(sys.argv[1])
for name, value in (("PGHOST", url.hostname), ("PGPORT", url.port or 5432),
                    ("PGUSER", url.username or "postgres"), ("PGPASSWORD", url.password)):
    if value:
        print(f"export {name}={shlex.quote(str(value))}")
PY
)"

seconds_since() { "$python" -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

psql "$pg_url/postgres" --quiet --no-psqlrc --command="CREATE DATABASE $source_db" >/dev/null
export DATABASE_URL="$pg_url/$source_db"
"$python" manage.py migrate --noinput --verbosity 0
started=$(date +%s.%N)
"$python" manage.py generate_data --users "$users" --messages "$messages" --seed 1 >/dev/null
echo "generate_data: $users users, $messages messages in $(seconds_since "$started") s"
database_size="$(psql "$pg_url/$source_db" --no-psqlrc --tuples-only --no-align \
    --command="SELECT pg_size_pretty(pg_database_size(current_database()))")"

started=$(date +%s.%N)
dump="$(PGDATABASE="$source_db" BACKUP_DIR="$work/backups" BACKUP_OFFSITE_DIR="$work/offsite" \
    deploy/backup/backup.sh 2>/dev/null)"
echo "backup.sh (dump, check, checksum, off-site copy): $(seconds_since "$started") s;" \
    "database $database_size, dump $(du -h "$dump" | cut -f1)"

started=$(date +%s.%N)
rows="$(deploy/backup/restore.sh "$dump" "$restored_db" 2>/dev/null)"
echo "restore.sh (checksum, restore in one transaction, ANALYZE): $(seconds_since "$started") s"
echo "rows restored:"
grep -E '^minitwit_(user|message|follow) ' <<<"$rows" | sed 's/^/  /'

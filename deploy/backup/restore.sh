#!/usr/bin/env bash
# Restore a backup made by backup.sh into a NEW database, then print its row counts.
#
# Usage: restore.sh DUMP_FILE TARGET_DATABASE
#
# The target must not exist: restoring over a live database would mix old and new rows. Restore
# next to it, check it, then swap names while the web replicas are stopped
# (docs/operations.md, "Restoring a backup").
# Connection: libpq's PGHOST, PGPORT, PGUSER, and PGPASSWORD or PGPASSWORD_FILE; the user
# needs CREATEDB. The dump's checksum file (DUMP_FILE.sha256), when present, must match.
set -euo pipefail

log() { printf '%s restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

[[ $# -eq 2 ]] || die "usage: restore.sh DUMP_FILE TARGET_DATABASE"
dump="$1"
target="$2"
[[ -f "$dump" ]] || die "no such backup: $dump"
# Only plain identifiers: the name goes into SQL and shell commands below.
[[ "$target" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] ||
    die "TARGET_DATABASE must be a plain name (letters, digits, underscores)"

if [[ -n "${PGPASSWORD_FILE:-}" ]]; then
    PGPASSWORD="$(<"$PGPASSWORD_FILE")"
    export PGPASSWORD
fi

if [[ -f "$dump.sha256" ]]; then
    (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256") ||
        die "$dump does not match its checksum; it is damaged"
else
    log "warning: no $dump.sha256 beside the backup; its integrity is not checked"
fi

exists="$(psql --dbname=postgres --no-psqlrc --tuples-only --no-align \
    --command="SELECT 1 FROM pg_database WHERE datname = '$target'")"
[[ -z "$exists" ]] || die "database $target already exists; restore into a new name"

started=$SECONDS
createdb --template=template0 "$target"
# A failed restore leaves no half-filled database behind to be mistaken for a good one.
trap 'log "restore failed; dropping $target"; dropdb --if-exists "$target"' ERR
# One transaction: all of the backup or nothing. Ownership and grants follow the restoring
# user, so a backup restores under another role name too.
pg_restore --dbname="$target" --exit-on-error --single-transaction --no-owner --no-privileges \
    "$dump"
psql --dbname="$target" --no-psqlrc --quiet --command="ANALYZE"
trap - ERR
log "restored $dump into $target ($((SECONDS - started)) s); rows per table:"

psql --dbname="$target" --no-psqlrc --tuples-only --no-align --field-separator=' ' <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', table_name, table_schema, table_name)
FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
ORDER BY table_name
\gexec
SQL

#!/usr/bin/env bash
# Back up the MiniTwit database once: a pg_dump in PostgreSQL's custom format, checked to be
# readable, checksummed, copied off-site, and old backups pruned. Prints the backup's path.
#
# The stack's `backup` service runs this from schedule.sh; operators and CI run it directly.
#
# Connection: libpq's variables PGHOST, PGPORT, PGUSER, PGDATABASE, and PGPASSWORD or
# PGPASSWORD_FILE (a Docker secret).
# BACKUP_DIR             where backups are kept (required)
# BACKUP_RETENTION_DAYS  backups older than this many days are deleted (default 14)
# BACKUP_OFFSITE_DIR     a second copy goes here when set (a mounted off-site volume)
# BACKUP_PREFIX          file name prefix (default minitwit)
set -euo pipefail

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

: "${BACKUP_DIR:?set BACKUP_DIR to the directory that keeps the backups}"
retention_days="${BACKUP_RETENTION_DAYS:-14}"
[[ "$retention_days" =~ ^[0-9]+$ ]] || die "BACKUP_RETENTION_DAYS must be a whole number of days"
prefix="${BACKUP_PREFIX:-minitwit}"
offsite_dir="${BACKUP_OFFSITE_DIR:-}"

if [[ -n "${PGPASSWORD_FILE:-}" ]]; then
    PGPASSWORD="$(<"$PGPASSWORD_FILE")"
    export PGPASSWORD
fi

mkdir -p "$BACKUP_DIR"
name="${prefix}-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$BACKUP_DIR/.${name}.partial"
trap 'rm -f "$partial"' EXIT

started=$SECONDS
# Custom format: compressed, and pg_restore can restore it selectively or in parallel.
# A partial file is renamed only when complete, so a crash never leaves a truncated "backup".
pg_dump --format=custom --compress=6 --file="$partial"
pg_restore --list "$partial" >/dev/null || die "pg_restore cannot read the new dump"
mv "$partial" "$BACKUP_DIR/$name"
(cd "$BACKUP_DIR" && sha256sum "$name" >"$name.sha256")
log "wrote $BACKUP_DIR/$name ($(du -h "$BACKUP_DIR/$name" | cut -f1), $((SECONDS - started)) s)"

if [[ -n "$offsite_dir" ]]; then
    mkdir -p "$offsite_dir"
    cp "$BACKUP_DIR/$name" "$offsite_dir/.${name}.partial"
    mv "$offsite_dir/.${name}.partial" "$offsite_dir/$name"
    cp "$BACKUP_DIR/$name.sha256" "$offsite_dir/$name.sha256"
    # Read the copy back: an off-site copy nobody checked is a hope, not a backup.
    (cd "$offsite_dir" && sha256sum --check --quiet "$name.sha256") ||
        die "the off-site copy in $offsite_dir does not match its checksum"
    log "copied to $offsite_dir"
fi

# Pruning only follows a successful backup, so a run of failing backups never deletes the last
# good ones.
prune() {
    find "$1" -maxdepth 1 -name "${prefix}-*.dump" -mtime "+$retention_days" -printf '%f\n' |
        while IFS= read -r old; do
            rm -f "${1:?}/$old" "$1/$old.sha256"
            log "deleted $1/$old (older than $retention_days days)"
        done
}
prune "$BACKUP_DIR"
if [[ -n "$offsite_dir" ]]; then
    prune "$offsite_dir"
fi

# schedule.sh's healthcheck reads this marker's age.
touch "$BACKUP_DIR/.last-success"
printf '%s\n' "$BACKUP_DIR/$name"

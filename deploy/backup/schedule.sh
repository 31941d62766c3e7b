#!/usr/bin/env bash
# The stack's backup service: backs up at start when the newest backup is over a day old, then
# every day at BACKUP_TIME (UTC, HH:MM); a failed backup is retried an hour later.
#
# Usage: schedule.sh          run forever
#        schedule.sh check    exit 0 when a backup succeeded within BACKUP_MAX_AGE_HOURS
#                             (default 26): the service's healthcheck
set -euo pipefail

log() { printf '%s schedule: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

: "${BACKUP_DIR:?set BACKUP_DIR to the directory that keeps the backups}"
marker="$BACKUP_DIR/.last-success"
max_age_hours="${BACKUP_MAX_AGE_HOURS:-26}"

fresh_within() {
    [[ -f "$marker" ]] && [[ -n "$(find "$marker" -mmin "-$(($1 * 60))")" ]]
}

if [[ "${1:-}" == "check" ]]; then
    fresh_within "$max_age_hours" && exit 0
    echo "no successful backup in the last $max_age_hours hours (see this service's log)" >&2
    exit 1
fi

backup_time="${BACKUP_TIME:-03:00}"
[[ "$backup_time" =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || {
    log "BACKUP_TIME must be HH:MM (24-hour, UTC), not '$backup_time'"
    exit 1
}
# The stack mounts backup.sh as minitwit-backup; in the repository it is next to this file.
backup="$(dirname "$0")/backup.sh"
[[ -x "$backup" ]] || backup="$(dirname "$0")/minitwit-backup"
retry_seconds="${BACKUP_RETRY_SECONDS:-3600}"

# `sleep` in the background and `wait`: the TERM of `docker stop` ends us at once.
sleeper=""
trap 'log "stopping"; [[ -n "$sleeper" ]] && kill "$sleeper" 2>/dev/null; exit 0' TERM INT
pause() {
    sleep "$1" &
    sleeper=$!
    wait "$sleeper"
    sleeper=""
}

seconds_until_next_run() {
    local now next
    now="$(date -u +%s)"
    next="$(date -u -d "today $backup_time" +%s)"
    if ((next <= now)); then
        next="$(date -u -d "tomorrow $backup_time" +%s)"
    fi
    echo $((next - now))
}

log "daily backups at $backup_time UTC into $BACKUP_DIR"
if ! fresh_within 24; then
    log "no backup in the last 24 hours: backing up now"
    until "$backup" >/dev/null; do
        log "backup failed; retrying in $retry_seconds s"
        pause "$retry_seconds"
    done
fi
while true; do
    wait_seconds="$(seconds_until_next_run)"
    log "next backup in $wait_seconds s"
    pause "$wait_seconds"
    until "$backup" >/dev/null; do
        log "backup failed; retrying in $retry_seconds s"
        pause "$retry_seconds"
    done
done

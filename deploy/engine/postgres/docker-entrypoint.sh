#!/usr/bin/env bash
# Entrypoint of the rehearsal's PostgreSQL image (see the Dockerfile beside it): on the first
# start, a cluster in PGDATA owned by POSTGRES_USER with POSTGRES_PASSWORD, password
# (SCRAM) authentication over the network, and the database POSTGRES_DB; then the server.
set -euo pipefail

# NAME or NAME_FILE (a Docker secret), never both.
from_env_or_file() {
    local name="$1" default="${2:-}" file_name="${1}_FILE"
    if [[ -n "${!name:-}" && -n "${!file_name:-}" ]]; then
        echo "set $name or $file_name, not both" >&2
        exit 1
    fi
    if [[ -n "${!file_name:-}" ]]; then
        export "$name"="$(<"${!file_name}")"
    else
        export "$name"="${!name:-$default}"
    fi
    unset "$file_name"
}

if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
fi

if [[ "${1:-}" != postgres ]]; then
    exec "$@"
fi

if [[ "$(id -u)" == 0 ]]; then
    # Secrets are read as root (a secret may be readable by root only), then the server
    # runs as postgres.
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 0700 "$PGDATA"
    from_env_or_file POSTGRES_PASSWORD
    from_env_or_file POSTGRES_USER postgres
    from_env_or_file POSTGRES_DB "$POSTGRES_USER"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

from_env_or_file POSTGRES_PASSWORD
from_env_or_file POSTGRES_USER postgres
from_env_or_file POSTGRES_DB "$POSTGRES_USER"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    if [[ -z "$POSTGRES_PASSWORD" ]]; then
        echo "the database has no password: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE" >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    if [[ "$POSTGRES_DB" != postgres ]]; then
        # Local socket only while the database is made: nobody connects to a half-made server.
        pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses=''" start
        createdb --username="$POSTGRES_USER" --maintenance-db=postgres -- "$POSTGRES_DB"
        pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    fi
    echo "initialised $PGDATA: user $POSTGRES_USER, database $POSTGRES_DB"
fi
unset POSTGRES_PASSWORD

exec "$@"

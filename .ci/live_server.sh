# shellcheck shell=bash
# Sourced by .ci scripts that test MiniTwit from the outside: serve it the production way
# (gunicorn with gunicorn.conf.py) on a fresh database, and stop it and clean up on exit.
#
#   start_live_server ADDRESS...   e.g. start_live_server 127.0.0.1:5000 127.0.0.1:5001
#
# The database is a new SQLite file, or with LIVE_DATABASE=postgresql a scratch database
# LIVE_DB (default minitwit_live) on 127.0.0.1:5432, dropped at the end. Sets LIVE_WORKDIR
# (removed at the end) and LIVE_PY; the server's log is printed if the caller fails.

LIVE_PY=.venv/bin/python
LIVE_WORKDIR=$(mktemp -d)
live_gunicorn_pid=
live_psql=(env PGOPTIONS=--client-min-messages=warning psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q)

stop_live_server() {
  local status=$?
  if [[ -n $live_gunicorn_pid ]]; then
    kill -TERM "$live_gunicorn_pid" 2>/dev/null || true
    wait "$live_gunicorn_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -s $LIVE_WORKDIR/gunicorn.log ]]; then
    echo "--- last lines of the server's log:"
    tail -n 40 "$LIVE_WORKDIR/gunicorn.log"
  fi
  if [[ ${LIVE_DATABASE:-sqlite} == postgresql ]]; then
    "${live_psql[@]}" -c "DROP DATABASE IF EXISTS ${LIVE_DB:-minitwit_live}" || true
  fi
  rm -rf "$LIVE_WORKDIR"
  exit "$status"
}

start_live_server() {
  trap stop_live_server EXIT
  export MINITWIT_DATA_DIR=$LIVE_WORKDIR DEBUG=false
  if [[ ${LIVE_DATABASE:-sqlite} == postgresql ]]; then
    local db=${LIVE_DB:-minitwit_live}
    "${live_psql[@]}" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
  else
    export DATABASE_URL=sqlite:///$LIVE_WORKDIR/minitwit.sqlite3
  fi
  $LIVE_PY manage.py migrate --noinput --verbosity 0
  local binds=()
  for address in "$@"; do
    binds+=(--bind "$address")
  done
  .venv/bin/gunicorn --config gunicorn.conf.py "${binds[@]}" minitwit_project.wsgi:application \
    >"$LIVE_WORKDIR/gunicorn.log" 2>&1 &
  live_gunicorn_pid=$!
  $LIVE_PY - "$@" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
for address in sys.argv[1:]:
    while True:
        try:
            urllib.request.urlopen(f"http://{address}/health", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"gunicorn did not answer on {address} within 60 s")
            time.sleep(0.2)
PY
  echo "gunicorn on $* (database: ${LIVE_DATABASE:-sqlite})"
}

#!/usr/bin/env bash
# Rehearse the Swarm deployment without Docker, with real parts on loopback: Debian's nginx
# load-balancing two gunicorn instances of MiniTwit (the stack's proxy policy,
# deploy/nginx/proxy.conf), one fresh PostgreSQL database, migrations run once beforehand.
# Through nginx, at the same time:
#   - the whole course simulator replay (manage.py simulate --timeout 2 --verify) must end with
#     zero errors while the instances are restarted in turn, round after round, the way Swarm
#     replaces a replica: out of the load balancer, 2 s, SIGTERM and the graceful exit; then,
#     while it is down, back in the load balancer (as a crashed replica would be: nginx must
#     retry the other instance), start, wait for /ready; then the other instance;
#   - a browser session signed in at the start must stay signed in and post messages that it
#     then sees, while one instance is down and on whichever instance answers.
# Everything started here is stopped on exit; the database is dropped.
#
# Usage: deploy/rehearsal.sh          (CI runs it from .ci/run)
# Environment (all optional):
#   PYTHON                 the project's interpreter (default .venv/bin/python)
#   REHEARSAL_PG_URL       PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
#   REHEARSAL_DB_PREFIX    name prefix of the scratch database (default minitwit_rehearsal)
#   REHEARSAL_PORT_BASE    nginx on BASE, instances on BASE+1, BASE+2 (default: free ports)
#   REHEARSAL_LIMIT        replay only the first N scenario rows (default: all of them)
#   REHEARSAL_READY_PATH   the readiness URL of an instance (default /ready)
#   REHEARSAL_SCENARIO     scenario file (default ../shared/minitwit_scenario.csv; without
#                          it the replay is skipped, and the rolling restarts still run)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
started_at=$SECONDS

log() { printf '%s rehearsal: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
    log "FAILED: $*"
    exit 1
}

python="${PYTHON:-$root/.venv/bin/python}"
gunicorn="$(dirname "$python")/gunicorn"
pg_url="${REHEARSAL_PG_URL:-postgres://postgres@127.0.0.1:5432}"
ready_path="${REHEARSAL_READY_PATH:-/ready}"
scenario="${REHEARSAL_SCENARIO:-$(dirname "$root")/shared/minitwit_scenario.csv}"
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$python" && -x "$gunicorn" ]] || fail "no $python with gunicorn: run 'make install' first"
[[ -x "$nginx" ]] || fail "nginx is not installed (apt-get install nginx-light)"
command -v psql >/dev/null || fail "psql is not installed"

run_dir="$(mktemp -d /tmp/minitwit-rehearsal.XXXXXX)"
# nginx's workers run as an unprivileged user when started by root: let them in.
chmod 755 "$run_dir"
database="${REHEARSAL_DB_PREFIX:-minitwit_rehearsal}_$(date +%s)_$$"
declare -A port pid
nginx_pid=""
replay_pid=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    [[ -n "$replay_pid" ]] && kill "$replay_pid" 2>/dev/null
    for name in a b; do
        [[ -n "${pid[$name]:-}" ]] && kill "${pid[$name]}" 2>/dev/null
    done
    [[ -n "$nginx_pid" ]] && kill -QUIT "$nginx_pid" 2>/dev/null
    wait 2>/dev/null
    if ((status != 0)); then
        for file in "$run_dir"/*.log; do
            [[ -f "$file" ]] || continue
            printf '\n--- last lines of %s ---\n' "$(basename "$file")"
            tail -n 25 "$file"
        done
    fi
    psql "$pg_url/postgres" --quiet --no-psqlrc \
        --command="DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$run_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
if [[ -n "${REHEARSAL_PORT_BASE:-}" ]]; then
    port[nginx]=$REHEARSAL_PORT_BASE
    port[a]=$((REHEARSAL_PORT_BASE + 1))
    port[b]=$((REHEARSAL_PORT_BASE + 2))
else
    port[nginx]="$(free_port)"
    port[a]="$(free_port)"
    port[b]="$(free_port)"
fi
site="http://127.0.0.1:${port[nginx]}"

# The production settings, as the stack sets them, minus TLS (plain HTTP on loopback).
export MINITWIT_ENV=production
SECRET_KEY="$("$python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export SECRET_KEY
export ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL="$pg_url/$database"
export SECURE_COOKIES=false BEHIND_TLS_PROXY=false
export TRUSTED_PROXIES=127.0.0.1 FORWARDED_ALLOW_IPS=127.0.0.1 METRICS_ALLOWED_IPS=127.0.0.1
export STATIC_ROOT="$run_dir/static"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}" GUNICORN_THREADS="${GUNICORN_THREADS:-1}"

log "database $database, nginx on ${port[nginx]}, instances on ${port[a]} and ${port[b]}"
psql "$pg_url/postgres" --quiet --no-psqlrc --command="CREATE DATABASE $database" >/dev/null
# Once, before any instance starts: the stack's migrate job.
"$python" manage.py migrate --noinput --verbosity 0
"$python" manage.py collectstatic --noinput --verbosity 0

start_instance() {
    local name="$1"
    # A fresh metrics directory per start, as a container's tmpfs would be.
    rm -rf "$run_dir/metrics-$name"
    mkdir -p "$run_dir/metrics-$name"
    GUNICORN_BIND="127.0.0.1:${port[$name]}" PROMETHEUS_MULTIPROC_DIR="$run_dir/metrics-$name" \
        "$gunicorn" --config gunicorn.conf.py minitwit_project.wsgi:application >>"$run_dir/instance-$name.log" 2>&1 &
    pid[$name]=$!
}

wait_ready() {
    local name="$1" deadline=$((SECONDS + 60))
    until "$python" - "http://127.0.0.1:${port[$name]}$ready_path" <<'PY' 2>/dev/null; do
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
PY
        kill -0 "${pid[$name]}" 2>/dev/null || fail "instance $name exited at start"
        ((SECONDS < deadline)) || fail "instance $name not ready on $ready_path after 60 s"
        sleep 0.2
    done
}

stop_instance() {
    local name="$1"
    # What Swarm does to a replica: SIGTERM, then gunicorn finishes what is in flight.
    kill -TERM "${pid[$name]}"
    wait "${pid[$name]}" || true
    pid[$name]=""
}

start_instance a
start_instance b
wait_ready a
wait_ready b

# nginx's configuration with instance $1 (a, b, or none) marked down.
render_nginx() {
    local down_a="" down_b=""
    [[ "$1" == a ]] && down_a=" down"
    [[ "$1" == b ]] && down_b=" down"
    sed -e "s|@RUNDIR@|$run_dir|g" -e "s|@DEPLOYDIR@|$root/deploy|g" \
        -e "s|@PORT@|${port[nginx]}|g" -e "s|@PORT_A@|${port[a]}|g" -e "s|@PORT_B@|${port[b]}|g" \
        -e "s|@DOWN_A@|$down_a|g" -e "s|@DOWN_B@|$down_b|g" \
        deploy/nginx/rehearsal.conf.template >"$run_dir/nginx.conf"
}
nginx_command=("$nginx" -p "$run_dir" -c "$run_dir/nginx.conf" -e "$run_dir/error.log")
# A reload is graceful: old nginx workers finish their requests, new ones use the new list.
reload_nginx() {
    render_nginx "$1"
    "${nginx_command[@]}" -t -q || fail "the rehearsal's nginx configuration is invalid"
    kill -HUP "$nginx_pid"
    sleep 0.5
}
render_nginx none
"${nginx_command[@]}" -t -q || fail "the rehearsal's nginx configuration is invalid"
"${nginx_command[@]}" -g "daemon off;" &
nginx_pid=$!
nginx_up() {
    "$python" -c "import socket; socket.create_connection(('127.0.0.1', ${port[nginx]}), 1)" \
        2>/dev/null
}
for _ in $(seq 50); do
    nginx_up && break
    sleep 0.1
done
nginx_up || fail "nginx did not start (see error.log)"

session() { "$python" deploy/rehearsal_session.py "$@"; }
session_state="$run_dir/session.json"
session start "$site" "$session_state" || fail "signing in through nginx"
for name in a b; do
    session visit "http://127.0.0.1:${port[$name]}" "$session_state" ||
        fail "the session signed in through nginx does not hold on instance $name"
done

replay_started=$SECONDS
if [[ -f "$scenario" ]]; then
    limit_args=()
    [[ -n "${REHEARSAL_LIMIT:-}" ]] && limit_args=(--limit "$REHEARSAL_LIMIT")
    log "replaying $scenario through nginx"
    "$python" manage.py simulate "$scenario" --base-url "$site" --timeout 2 --verify \
        "${limit_args[@]}" >"$run_dir/replay.out" 2>"$run_dir/replay.log" &
    replay_pid=$!
else
    log "no scenario at $scenario: the simulator replay is skipped, restarts still rehearsed"
fi

replay_running() { [[ -n "$replay_pid" ]] && kill -0 "$replay_pid" 2>/dev/null; }

# Rolling restarts: while the replay runs (at least one full round, at most 40 rounds).
restarts=0
rounds=0
while ((rounds < 1)) || { replay_running && ((rounds < 40)); }; do
    for name in a b; do
        sleep 1
        stopped_at=$SECONDS
        # Swarm: out of the service's DNS, 2 s for that to spread, then SIGTERM.
        reload_nginx "$name"
        sleep 2
        stop_instance "$name"
        # Listed again while still down, like a replica that crashed: every request that
        # nginx tries on it is refused and must be retried on the other instance.
        reload_nginx none
        other=$([[ "$name" == a ]] && echo b || echo a)
        session visit "$site" "$session_state" --post "posted while $name was down ($restarts)" ||
            fail "the browser session broke while instance $name was down"
        start_instance "$name"
        wait_ready "$name"
        restarts=$((restarts + 1))
        log "restarted instance $name in $((SECONDS - stopped_at)) s (the session was served by $other meanwhile)"
    done
    rounds=$((rounds + 1))
done

replay_status=0
if [[ -n "$replay_pid" ]]; then
    if replay_running; then
        log "restart rounds done; waiting for the replay"
    fi
    wait "$replay_pid" || replay_status=$?
    replay_pid=""
    replay_seconds=$((SECONDS - replay_started))
    cat "$run_dir/replay.out"
    ((replay_status == 0)) || fail "the simulator replay through nginx had errors (exit $replay_status)"
    log "replay: no errors in $replay_seconds s, during $restarts instance restarts"
fi

session visit "$site" "$session_state" || fail "the session did not survive the rolling restarts"
for name in a b; do
    session visit "http://127.0.0.1:${port[$name]}" "$session_state" ||
        fail "the session does not hold on instance $name after the restarts"
done
answered="$(session summary "$session_state")"
log "browser session: $answered"
for name in a b; do
    [[ "$answered" == *"127.0.0.1:${port[$name]}"* ]] ||
        fail "nginx never sent the browser session to instance $name"
done

# nginx's own view: no 5xx answered to anyone; how many requests it moved to the other
# instance because the first refused the connection (a retry lists both upstreams).
"$python" - "$run_dir/access.log" <<'PY'
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
errors = [line for line in lines if line["status"] >= 500]
retried = [line for line in lines if "," in line["upstream"]]
print(f"nginx: {len(lines)} requests, {len(retried)} retried on the other instance, "
      f"{len(errors)} answered 5xx")
for line in errors[:10]:
    print("  5xx:", line["method"], line["uri"], line["status"], line["upstream"])
sys.exit(1 if errors else 0)
PY
log "passed in $((SECONDS - started_at)) s"

# shellcheck shell=bash
# The image run the way stack.yml runs it, in a real engine: deploy/engine/check.sh's first
# half. Sourced, not run.
#
# The options come from stack.yml itself (deploy/engine/stack_run.py): read-only root, the
# tmpfs on /tmp, the image's user, the secrets as files under /run/secrets with the stack's
# uid and mode, the production environment. What differs, and why:
#   - the network is the host's (this engine has no bridge), so gunicorn listens on a free
#     loopback port instead of 8000, PostgreSQL is this machine's server (a database of this
#     check's own), the read cache is this machine's Redis (database 13, emptied first), and
#     /metrics is opened to loopback, which stands in for the monitoring network;
#   - the healthcheck is the Dockerfile's HEALTHCHECK (the stack's own, on port 8000, is
#     exercised by the Swarm rehearsal).

CONTAINER_DB="minitwit_engine_check"
CONTAINER_DOMAIN="minitwit.engine.test"

container_psql() {
    psql --no-psqlrc --quiet --tuples-only --no-align --host=127.0.0.1 --username=postgres \
        --set=ON_ERROR_STOP=1 "$@"
}

# Random secret values, one file per secret source of stack.yml.
container_make_secrets() {
    local dir="$1"
    mkdir -p "$dir"
    python3 -c 'import secrets; print(secrets.token_urlsafe(48), end="")' >"$dir/secret_key"
    python3 -c 'import secrets; print(secrets.token_urlsafe(24), end="")' >"$dir/db_password"
    python3 -c 'import secrets; print(secrets.token_urlsafe(24), end="")' >"$dir/simulator_password"
}

container_wait_health() {
    local name="$1" wanted="$2" seconds="$3" status="" _
    for _ in $(seq "$seconds"); do
        status="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")"
        [[ "$status" == "$wanted" ]] && return 0
        [[ "$(docker inspect --format '{{.State.Running}}' "$name")" == true ]] || break
        sleep 1
    done
    docker logs --tail 30 "$name" >&2 || true
    engine_log "$name: health is '$status', not '$wanted', after ${seconds} s"
    return 1
}

container_check() {
    local image="$1" secrets="$ENGINE_DIR/secrets" port url
    local -a run_env web_options migrate_options migrate_command
    container_make_secrets "$secrets"
    port="$(engine_free_port tcp 48000 48100)"
    url="http://127.0.0.1:$port"
    container_psql -c "DROP DATABASE IF EXISTS $CONTAINER_DB" -c "CREATE DATABASE $CONTAINER_DB"
    .venv/bin/python -c 'import redis; redis.Redis.from_url("redis://127.0.0.1:6379/13").flushdb()'
    run_env=(
        --env "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$CONTAINER_DB"
        --env "CACHE_URL=redis://127.0.0.1:6379/13"
        --env "METRICS_ALLOWED_IPS=127.0.0.1"
    )
    export MINITWIT_IMAGE="${image%:*}" MINITWIT_TAG="${image##*:}" MINITWIT_DOMAIN="$CONTAINER_DOMAIN"
    mapfile -t web_options < <(.venv/bin/python deploy/engine/stack_run.py options web \
        --secrets-dir "$secrets" "${run_env[@]}" --env "GUNICORN_BIND=127.0.0.1:$port")
    mapfile -t migrate_options < <(.venv/bin/python deploy/engine/stack_run.py options migrate \
        --secrets-dir "$secrets" "${run_env[@]}")
    mapfile -t migrate_command < <(.venv/bin/python deploy/engine/stack_run.py command migrate)
    [[ ${#web_options[@]} -gt 0 && ${#migrate_command[@]} -gt 0 ]] || {
        engine_log "stack_run.py gave no options"
        return 1
    }

    engine_log "migrate: ${migrate_command[*]}, as the stack's migrate job"
    docker run --rm --network=host "${migrate_options[@]}" "$image" "${migrate_command[@]}"

    engine_log "web: as the stack's web service ($(printf '%s ' "${web_options[@]}" | grep -o -- '--read-only\|type=tmpfs[^ ]*' | tr '\n' ' '))"
    docker run --detach --name engine-web --network=host "${web_options[@]}" "$image" web >/dev/null
    local _
    for _ in $(seq 60); do
        curl -fsS -o /dev/null "$url/health" 2>/dev/null && break
        [[ "$(docker inspect --format '{{.State.Running}}' engine-web)" == true ]] || break
        sleep 1
    done
    if ! curl -fsS -o /dev/null "$url/health"; then
        docker logs --tail 40 engine-web >&2
        engine_log "web did not answer /health (log above)"
        return 1
    fi
    container_facts engine-web
    container_refuses_unwritable_dir "$image" "${web_options[@]}"
    .venv/bin/python deploy/engine/client.py smoke "$url" --host "$CONTAINER_DOMAIN" \
        --simulator-password-file "$secrets/simulator_password" --metrics
    # An operator's command, run as the migrate job runs (read-only): it writes to stdout only.
    docker run --rm --network=host "${migrate_options[@]}" "$image" manage flag_messages --list \
        >"$ENGINE_DIR/messages.csv"
    engine_log "ok  manage flag_messages --list runs read-only ($(wc -l <"$ENGINE_DIR/messages.csv") CSV lines)"
    container_wait_health engine-web healthy 60
    engine_log "ok  Docker's HEALTHCHECK says healthy"
    container_stop_during_slow_request engine-web "$url" "$secrets"
    container_psql -c "DROP DATABASE IF EXISTS $CONTAINER_DB"
}

# What the stack promises about the running container, asked of the engine and the container.
container_facts() {
    local name="$1" user read_only
    user="$(docker exec "$name" id -u)"
    [[ "$user" == 10001 ]] || {
        engine_log "web runs as uid $user, not 10001"
        return 1
    }
    read_only="$(docker inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name")"
    [[ "$read_only" == true ]] || {
        engine_log "the root filesystem is not read-only"
        return 1
    }
    if docker exec "$name" sh -c 'touch /app/engine-check 2>/dev/null'; then
        engine_log "the app could write into its image (/app)"
        return 1
    fi
    if ! docker exec "$name" sh -c 'ls /tmp/minitwit-metrics-* >/dev/null 2>&1'; then
        engine_log "gunicorn's metrics directory is not in /tmp"
        return 1
    fi
    engine_log "ok  uid 10001, read-only root, metrics directory in the /tmp tmpfs"
}

# The same container pointed at a directory the app user cannot write: the stack's former
# metrics directory, /run/minitwit/metrics, under the read-only root (a tmpfs mounted over a
# directory of the image keeps that directory's owner and mode, root and 0755; only /tmp is
# 1777). gunicorn must stop at once, with status 78 and one message that names the
# directory and the user, instead of starting workers that crash in a loop.
container_refuses_unwritable_dir() {
    local image="$1" port output status=0
    shift
    port="$(engine_free_port tcp 48100 48200)"
    output="$(timeout 60 docker run --rm --network=host "$@" \
        --env PROMETHEUS_MULTIPROC_DIR=/run/minitwit/metrics --env "GUNICORN_BIND=127.0.0.1:$port" \
        "$image" web 2>&1)" || status=$?
    if [[ "$status" != 78 ]] || [[ "$(grep -c 'cannot write to /run/minitwit/metrics' <<<"$output")" != 1 ]] ||
        ! grep -q 'as uid 10001' <<<"$output" || grep -q 'Booting worker' <<<"$output"; then
        printf '%s\n' "$output" | tail -n 20 >&2
        engine_log "with an unwritable directory, web exited $status (wanted 78, one clear message, no worker)"
        return 1
    fi
    engine_log "ok  with an unwritable directory, web exits 78 at once: $(grep -o 'MiniTwit cannot write to [^;]*' <<<"$output")"
}

# `docker stop` while a request is in flight: gunicorn must finish it (complete 204) and exit
# by itself, well inside the stop timeout, not be killed at its end.
container_stop_during_slow_request() {
    local name="$1" url="$2" secrets="$3" started="$ENGINE_DIR/slow-started" client stop_began stop_took exit_code username
    rm -f "$started"
    .venv/bin/python deploy/engine/client.py slow-register "$url" --host "$CONTAINER_DOMAIN" \
        --simulator-password-file "$secrets/simulator_password" --seconds 6 \
        --started-file "$started" >"$ENGINE_DIR/slow.out" 2>&1 &
    client=$!
    local _
    for _ in $(seq 50); do
        [[ -s "$started" ]] && break
        sleep 0.1
    done
    [[ -s "$started" ]] || {
        engine_log "the slow request did not start"
        return 1
    }
    sleep 1
    stop_began="$(date +%s.%N)"
    engine_log "docker stop $name while a request is in flight"
    docker stop "$name" >/dev/null
    stop_took="$(python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$stop_began")"
    if ! wait "$client"; then
        cat "$ENGINE_DIR/slow.out" >&2
        docker logs --tail 30 "$name" >&2
        engine_log "the request in flight did not get its answer"
        return 1
    fi
    cat "$ENGINE_DIR/slow.out"
    exit_code="$(docker inspect --format '{{.State.ExitCode}}' "$name")"
    username="$(cat "$started")"
    python3 - "$ENGINE_DIR/slow.out" "$stop_began" <<'EOF' || return 1
import json, sys
finished = json.loads(open(sys.argv[1]).read().splitlines()[-1])["finished"]
if finished <= float(sys.argv[2]):
    sys.exit("the slow request finished before docker stop began: nothing was proven")
EOF
    [[ "$exit_code" == 0 ]] || {
        docker logs --tail 30 "$name" >&2
        engine_log "gunicorn exited with $exit_code after docker stop (137 = killed at the timeout)"
        return 1
    }
    [[ "$(container_psql -d "$CONTAINER_DB" -c "SELECT count(*) FROM minitwit_user WHERE username = '$username'")" == 1 ]] || {
        engine_log "$username is not in the database"
        return 1
    }
    engine_log "ok  docker stop took $stop_took s: the request in flight got its 204, $username is stored, gunicorn exited 0"
    docker rm "$name" >/dev/null
}

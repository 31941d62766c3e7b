# shellcheck shell=bash
# stack.yml on a real single-node Swarm: deploy/engine/check.sh's second half. Sourced, not run.
#
# The releases go through a registry, as in production (deploy.sh checks the registry
# first, and Swarm pins each image by digest): Debian's docker-registry, unpacked (not
# installed: the package would set up a service) and served on loopback. Releases A, B and C
# are cheap images of the one build:
#   A  the image check.sh built;
#   B  FROM A, one label more (a different image, so the roll is visible);
#   C  FROM B, serving on port 8001 instead of 8000: a release that starts but never passes
#      the stack's healthcheck, which asks port 8000.
# A client on the stack's `public` network (deploy/engine/client.py load), where nginx would
# be, resolves tasks.web as nginx does and sends page and simulator requests during the roll.

SWARM_STACK=minitwit
SWARM_DOMAIN=minitwit.engine.test
SWARM_REGISTRY_PID=""
# Local only: deploy.sh checks the registry for the app's release, not for third-party images,
# and a single node needs no pull.
SWARM_POSTGRES_IMAGE=minitwit-engine/postgres:15
SWARM_REDIS_IMAGE=minitwit-engine/redis:7

swarm_stop_helpers() {
    if [[ -n "$SWARM_REGISTRY_PID" ]]; then
        kill "$SWARM_REGISTRY_PID" 2>/dev/null || true
        wait "$SWARM_REGISTRY_PID" 2>/dev/null || true
        SWARM_REGISTRY_PID=""
    fi
}

swarm_start_registry() {
    local dir="$ENGINE_DIR/registry" port
    mkdir -p "$dir"
    # Package lists older than the archive give a 404: refresh them once and try again.
    (cd "$dir" && { apt-get download -qq docker-registry 2>/dev/null ||
        { apt-get update -qq && apt-get download -qq docker-registry; }; } &&
        dpkg-deb -x docker-registry_*.deb root) || {
        engine_log "could not fetch Debian's docker-registry package"
        return 1
    }
    port="$(engine_free_port tcp 45000 45100)"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $dir/storage}}
http: {addr: "127.0.0.1:$port"}
EOF
    "$dir/root/usr/bin/docker-registry" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    SWARM_REGISTRY_PID=$!
    SWARM_REGISTRY="127.0.0.1:$port"
    local _
    for _ in $(seq 20); do
        curl -fsS -o /dev/null "http://$SWARM_REGISTRY/v2/" 2>/dev/null && return 0
        sleep 0.5
    done
    cat "$dir/registry.log" >&2
    engine_log "the registry did not start"
    return 1
}

# Releases A, B and C, pushed to the registry.
swarm_releases() {
    local image="$1" repository="$SWARM_REGISTRY/minitwit"
    docker tag "$image" "$repository:A"
    mkdir -p "$ENGINE_DIR/release-b" "$ENGINE_DIR/release-c"
    printf 'FROM %s\nLABEL org.minitwit.rehearsal-release=B\n' "$repository:A" \
        >"$ENGINE_DIR/release-b/Dockerfile"
    images_build --tag "$repository:B" "$ENGINE_DIR/release-b"
    printf 'FROM %s\nLABEL org.minitwit.rehearsal-release=C\nENV GUNICORN_BIND=0.0.0.0:8001\n' \
        "$repository:B" >"$ENGINE_DIR/release-c/Dockerfile"
    images_build --tag "$repository:C" "$ENGINE_DIR/release-c"
    local tag
    for tag in "$repository:A" "$repository:B" "$repository:C"; do
        docker push --quiet "$tag" >/dev/null
    done
}

swarm_secrets() {
    local name value
    for name in secret_key db_password simulator_password tls_cert tls_key grafana_admin_password; do
        value="$(python3 -c 'import secrets; print(secrets.token_urlsafe(36), end="")')"
        [[ "$name" == simulator_password ]] && printf '%s' "$value" >"$ENGINE_DIR/simulator_password"
        # tls_* and grafana_admin_password belong to services left out here; deploy.sh checks
        # that every secret of the stack exists, so they exist, with placeholder values.
        printf '%s' "$value" | docker secret create "minitwit_$name" - >/dev/null
    done
}

# deploy.sh or rollback.sh with the rehearsal's settings. Swarm's warnings about the left-out
# services' Docker Hub images (no digest to pin) are expected and left out of the log.
swarm_deploy() {
    swarm_deploy_unfiltered "$@" 2>&1 | awk '
        /could not be accessed on a registry to record/ { skip = 1 }
        skip && /versions of the image\./ { skip = 0; blank = 1; next }
        skip { next }
        blank && /^$/ { blank = 0; next }
        { blank = 0; print }'
}

swarm_deploy_unfiltered() {
    MINITWIT_IMAGE="$SWARM_REGISTRY/minitwit" \
        MINITWIT_DOMAIN="$SWARM_DOMAIN" \
        STACK_NAME="$SWARM_STACK" \
        MINITWIT_STATE_DIR="$ENGINE_DIR/state" \
        STACK_OVERRIDE=deploy/engine/stack.ci.yml \
        ENGINE_POSTGRES_IMAGE="$SWARM_POSTGRES_IMAGE" \
        ENGINE_REDIS_IMAGE="$SWARM_REDIS_IMAGE" \
        MIGRATE_TIMEOUT=300 ROLLOUT_TIMEOUT=400 \
        "$@"
}

# The release the web service's spec names, and the releases its running tasks run.
swarm_web_release() {
    docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "${SWARM_STACK}_web" |
        sed -E 's/@sha256:.*//; s/.*://'
}

swarm_running_releases() {
    local container
    for container in $(docker ps --quiet --filter "label=com.docker.swarm.service.name=${SWARM_STACK}_web"); do
        docker inspect --format '{{index .Config.Image}}' "$container" | sed -E 's/@sha256:.*//; s/.*://'
    done | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}'
}

swarm_expect_release() {
    local wanted="$1" spec running
    spec="$(swarm_web_release)"
    running="$(swarm_running_releases)"
    if [[ "$spec" != "$wanted" || "$running" != "$wanted x2 " ]]; then
        docker service ps --no-trunc "${SWARM_STACK}_web" >&2
        engine_log "web should run release $wanted on 2 replicas: the spec says $spec, running: $running"
        return 1
    fi
    engine_log "ok  web runs release $wanted on 2 replicas"
}

# A container on the stack's `public` network, as nginx would be:
#   swarm_client [docker run options] -- [client.py arguments]
swarm_client() {
    local -a options=()
    while (($#)) && [[ "$1" != -- ]]; do
        options+=("$1")
        shift
    done
    shift
    # This engine has no bridge, so docker run warns that IPv4 forwarding is off: expected.
    docker run "${options[@]}" --network "${SWARM_STACK}_public" \
        --mount "type=bind,source=$PWD/deploy/engine/client.py,target=/client.py,readonly" \
        --mount "type=bind,source=$ENGINE_DIR/simulator_password,target=/run/secrets/simulator_password,readonly" \
        "$ENGINE_PYTHON_IMAGE" python3 /client.py "$@" 2> >(grep -v 'IPv4 forwarding is disabled' >&2)
}

# Every replica answers /ready (it reaches `db`, migrations applied), and the rest of the
# smoke checks, asked directly of each task address that tasks.web lists.
swarm_check_replicas() {
    local addresses address
    addresses="$(docker run --rm --network "${SWARM_STACK}_public" "$ENGINE_PYTHON_IMAGE" \
        getent ahostsv4 tasks.web 2>/dev/null | awk '{print $1}' | sort -u)"
    [[ "$(wc -w <<<"$addresses")" == 2 ]] || {
        engine_log "tasks.web lists '$addresses', not 2 replicas"
        return 1
    }
    for address in $addresses; do
        engine_log "replica $address:"
        swarm_client --rm -- smoke "http://$address:8000" --host "$SWARM_DOMAIN" \
            --simulator-password-file /run/secrets/simulator_password --metrics-refused
    done
}

# `db` is reached without a virtual IP (endpoint_mode dnsrr): inside a replica its name
# answers with the database task's own address, so no IPVS sits between the app's
# persistent connections and PostgreSQL.
swarm_check_dnsrr() {
    local web db_addresses vip
    web="$(docker ps --quiet --filter "label=com.docker.swarm.service.name=${SWARM_STACK}_web" | head -n 1)"
    db_addresses="$(docker exec "$web" python -c 'import socket; print(sorted({a[4][0] for a in socket.getaddrinfo("db", 5432)}))')"
    vip="$(docker service inspect --format '{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}' "${SWARM_STACK}_db")"
    [[ -z "$vip" ]] || {
        engine_log "db has a virtual IP ($vip): endpoint_mode is not dnsrr"
        return 1
    }
    engine_log "ok  db resolves to its task $db_addresses, no virtual IP"
}

swarm_check_backup() {
    local backup
    backup="$(docker ps --quiet --filter "label=com.docker.swarm.service.name=${SWARM_STACK}_backup" | head -n 1)"
    [[ -n "$backup" ]] || {
        engine_log "the backup service is not running"
        return 1
    }
    # backup.sh prints the dump's path on stdout and logs on stderr.
    docker exec "$backup" minitwit-backup >"$ENGINE_DIR/backup.out" 2>"$ENGINE_DIR/backup.log" || {
        cat "$ENGINE_DIR/backup.log" >&2
        engine_log "the backup service could not back up db"
        return 1
    }
    engine_log "ok  the backup service backed up db by its name: $(cat "$ENGINE_DIR/backup.out")"
}

swarm_start_load() {
    local name="$1" prefix="$2"
    swarm_client --detach --name "$name" -- load --host "$SWARM_DOMAIN" \
        --simulator-password-file /run/secrets/simulator_password --prefix "$prefix" >/dev/null
}

# Stops the client and prints its summary (a JSON line); fails when requests failed.
swarm_stop_load() {
    local name="$1" what="$2" summary failures
    docker stop --time 60 "$name" >/dev/null
    summary="$(docker logs "$name" 2>&1 | tail -n 1)"
    docker rm "$name" >/dev/null
    failures="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["failures"])' "$summary")" || {
        engine_log "no summary from the client: $summary"
        return 1
    }
    engine_log "client during $what: $summary"
    SWARM_LAST_LOAD="$summary"
    if ((failures > 0)); then
        engine_log "$failures requests failed during $what"
        return 1
    fi
}

# "failed / sent (moved to another replica: N)" from the last client summary.
swarm_load_numbers() {
    python3 -c 'import json, sys
s = json.loads(sys.argv[1])
print("%s / %s (moved to another replica: %s)" % (s["failures"], s["requests"], s["moved_to_another_replica"]))' "$SWARM_LAST_LOAD"
}

swarm_rehearsal() {
    local started status
    engine_swarm_init
    docker node update --label-add minitwit.db=true --label-add minitwit.backup=true \
        "$(docker info --format '{{.Swarm.NodeID}}')" >/dev/null
    # The off-site backup volume is the operator's (docs/operations.md): a local one here.
    docker volume create minitwit_backup_offsite >/dev/null
    swarm_secrets
    phase "swarm: init, node labels, secrets"

    started=$SECONDS
    swarm_deploy deploy/deploy.sh A
    result "first deploy of A (deploy.sh)" "$((SECONDS - started)) s"
    swarm_expect_release A
    swarm_check_replicas
    swarm_check_dnsrr
    swarm_check_backup
    phase "first deploy of A: migration job, 2 healthy replicas on db"

    swarm_start_load load-ab "ab$RANDOM-"
    sleep 5
    started=$SECONDS
    swarm_deploy deploy/deploy.sh B
    result "roll from A to B (deploy.sh B)" "$((SECONDS - started)) s"
    sleep 3
    swarm_stop_load load-ab "the roll from A to B"
    result "requests during the roll: failed / sent" "$(swarm_load_numbers)"
    swarm_expect_release B
    phase "deploy.sh B: rolled from A under load"

    swarm_start_load load-c "c$RANDOM-"
    started=$SECONDS
    status=0
    swarm_deploy deploy/deploy.sh C 2>&1 | tee "$ENGINE_DIR/deploy-c.log" || status=$?
    result "from deploying broken C to back on B (deploy.sh C)" "$((SECONDS - started)) s"
    # Users must not notice a broken release either: its replica never gets traffic.
    swarm_stop_load load-c "the failed release C and Swarm's rollback"
    result "requests during C and its rollback: failed / sent" "$(swarm_load_numbers)"
    if ((status == 0)); then
        engine_log "deploy.sh C succeeded: a release that never turns healthy went live"
        return 1
    fi
    grep -q "Swarm rolled back to the previous release" "$ENGINE_DIR/deploy-c.log" || {
        engine_log "deploy.sh C failed without saying that Swarm rolled back"
        return 1
    }
    swarm_expect_release B
    # Proof that C's replica really ran and was found unhealthy (not, say, that it never
    # started): Swarm keeps the stopped task's container, with Docker's health record.
    local container health
    health=""
    for container in $(docker ps --all --quiet --filter "label=com.docker.swarm.service.name=${SWARM_STACK}_web"); do
        [[ "$(docker inspect --format '{{.Config.Image}}' "$container")" == */minitwit:C* ]] || continue
        health+="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}} after {{.State.Health.FailingStreak}} failed probes{{end}}' "$container"); "
    done
    [[ "$health" == *unhealthy* ]] || {
        docker service ps --no-trunc "${SWARM_STACK}_web" >&2
        engine_log "no container of release C was found unhealthy (health: '$health')"
        return 1
    }
    engine_log "release C's containers: $health"
    engine_log "ok  deploy.sh C exited $status and said so; Swarm rolled back to B"
    phase "deploy.sh C: never healthy, Swarm rolled back to B"

    started=$SECONDS
    swarm_deploy deploy/rollback.sh
    result "back to A (rollback.sh)" "$((SECONDS - started)) s"
    swarm_expect_release A
    swarm_check_replicas
    phase "rollback.sh: back to A"
}

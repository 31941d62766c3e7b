#!/usr/bin/env bash
# Deploy a MiniTwit release to the Swarm, or upgrade to it:   deploy/deploy.sh TAG
#
# Run on a Swarm manager, from a copy of the repository at that release (stack.yml, deploy/):
#   1. renders stack.yml and checks the image and the secrets exist (nothing changes yet);
#   2. runs the migrations with the NEW image while the old replicas keep serving;
#   3. rolls the web replicas one at a time, each new one healthy before an old one stops
#      (Swarm rolls back by itself when a new replica fails), and waits for the result;
#   4. records the release in the history deploy/rollback.sh reads.
# Step 2 before step 3 is why migrations must be expand/contract (docs/operations.md).
#
# Environment: MINITWIT_IMAGE and MINITWIT_DOMAIN (required), the optional variables of
# stack.yml, STACK_NAME (default minitwit), MINITWIT_STATE_DIR (release history, default
# ~/.local/state/minitwit), MIGRATE_TIMEOUT and ROLLOUT_TIMEOUT (seconds, 600 and 900),
# STACK_OVERRIDE (a compose file layered over stack.yml: a site's own changes, such as the
# real-engine rehearsal's deploy/engine/stack.ci.yml).
set -euo pipefail
compose_files=(--compose-file stack.yml)
if [[ -n "${STACK_OVERRIDE:-}" ]]; then
    [[ -f "$STACK_OVERRIDE" ]] || {
        echo "deploy: ERROR: STACK_OVERRIDE=$STACK_OVERRIDE is not a file" >&2
        exit 1
    }
    compose_files+=(--compose-file "$(realpath "$STACK_OVERRIDE")")
fi
cd "$(dirname "$0")/.."

log() { printf '%s deploy: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

[[ $# -eq 1 && -n "$1" ]] || die "usage: deploy/deploy.sh TAG   (a released image tag, e.g. v1.4.0)"
export MINITWIT_TAG="$1"
: "${MINITWIT_IMAGE:?set MINITWIT_IMAGE, e.g. ghcr.io/OWNER/minitwit}"
: "${MINITWIT_DOMAIN:?set MINITWIT_DOMAIN to the public host name}"
export MINITWIT_IMAGE MINITWIT_DOMAIN
stack="${STACK_NAME:-minitwit}"
state_dir="${MINITWIT_STATE_DIR:-$HOME/.local/state/minitwit}"
migrate_timeout="${MIGRATE_TIMEOUT:-600}"
rollout_timeout="${ROLLOUT_TIMEOUT:-900}"
image="$MINITWIT_IMAGE:$MINITWIT_TAG"
migrate_service="${stack}_migrate"
web_service="${stack}_web"
# The migrate job's restart_policy.max_attempts in stack.yml.
migrate_attempts=6

# Swarm configs are immutable, so each one's name carries a digest of its file (stack.yml):
# an edited file becomes a new config and only the services using it roll.
digest() { sha256sum "$1" | cut -c1-12; }
set -o allexport
# shellcheck disable=SC2034  # not unused: exported for docker stack config/deploy
{
    CONFIG_NGINX_SITE="$(digest deploy/nginx/minitwit.conf.template)"
    CONFIG_NGINX_PROXY="$(digest deploy/nginx/proxy.conf)"
    CONFIG_NGINX_LOGGING="$(digest deploy/nginx/logging.conf)"
    CONFIG_BACKUP_SCRIPT="$(digest deploy/backup/backup.sh)"
    CONFIG_RESTORE_SCRIPT="$(digest deploy/backup/restore.sh)"
    CONFIG_BACKUP_SCHEDULE="$(digest deploy/backup/schedule.sh)"
    CONFIG_PROMETHEUS_CONFIG="$(digest deploy/prometheus/prometheus.yml)"
    CONFIG_PROMETHEUS_ALERTS="$(digest deploy/prometheus/alerts.yml)"
    CONFIG_GRAFANA_DATASOURCES="$(digest deploy/grafana/provisioning/datasources/datasources.yml)"
    CONFIG_GRAFANA_DASHBOARD_PROVIDERS="$(digest deploy/grafana/provisioning/dashboards/dashboards.yml)"
    CONFIG_GRAFANA_DASHBOARD_MINITWIT="$(digest deploy/grafana/dashboards/minitwit.json)"
    CONFIG_LOKI_CONFIG="$(digest deploy/loki/loki.yml)"
    CONFIG_ALLOY_CONFIG="$(digest deploy/alloy/config.alloy)"
}
set +o allexport

# 1. Everything checked before anything changes.
docker stack config "${compose_files[@]}" >/dev/null ||
    die "stack.yml does not render (see above); nothing was changed"
# The engine pulls from a registry on loopback over plain HTTP (127.0.0.0/8 is insecure by
# default); the CLI's manifest command must be told to do the same.
manifest_options=()
case "${MINITWIT_IMAGE%%/*}" in
    localhost | localhost:* | 127.* | "[::1]" | "[::1]:"*) manifest_options+=(--insecure) ;;
esac
docker manifest inspect "${manifest_options[@]}" "$image" >/dev/null ||
    die "$image is not in the registry (was the release built? is this node logged in?)"
for secret in \
    "${SECRET_KEY_SECRET:-minitwit_secret_key}" \
    "${DB_PASSWORD_SECRET:-minitwit_db_password}" \
    "${SIMULATOR_PASSWORD_SECRET:-minitwit_simulator_password}" \
    "${TLS_CERT_SECRET:-minitwit_tls_cert}" \
    "${TLS_KEY_SECRET:-minitwit_tls_key}" \
    "${GRAFANA_ADMIN_PASSWORD_SECRET:-minitwit_grafana_admin_password}"; do
    docker secret inspect "$secret" >/dev/null 2>&1 ||
        die "Docker secret $secret is missing: docs/operations.md, \"First deployment\""
done
mkdir -p "$state_dir"

service_exists() { docker service inspect "$1" >/dev/null 2>&1; }

# A replicated job's tasks carry the iteration of the job they belong to: the job is done
# when a task of the current iteration is complete, and failed when every attempt failed.
wait_for_migrations() {
    local iteration="" deadline id index state error failed
    local -A reported=()
    deadline=$((SECONDS + migrate_timeout))
    # A job's status appears once the manager has scheduled it.
    until [[ -n "$iteration" ]] || ((SECONDS >= deadline)); do
        iteration="$(docker service inspect --format \
            '{{if .JobStatus}}{{.JobStatus.JobIteration.Index}}{{end}}' "$migrate_service")"
        [[ -n "$iteration" ]] || sleep 2
    done
    log "waiting for the migrations (job iteration $iteration)"
    while ((SECONDS < deadline)); do
        failed=0
        while read -r id index state error; do
            [[ "$index" == "$iteration" ]] || continue
            case "$state" in
                complete)
                    log "migrations applied"
                    return 0
                    ;;
                failed | rejected)
                    failed=$((failed + 1))
                    # Each attempt once, not at every look.
                    [[ -n "${reported[$id]:-}" ]] || log "migration attempt failed: $error"
                    reported[$id]=1
                    ;;
            esac
        done < <(docker service ps --quiet --no-trunc "$migrate_service" |
            xargs --no-run-if-empty docker inspect --format \
                '{{.ID}} {{if .JobIteration}}{{.JobIteration.Index}}{{end}} {{.Status.State}} {{.Status.Err}}')
        if ((failed >= migrate_attempts)); then
            docker service logs --tail 50 "$migrate_service" >&2 || true
            return 1
        fi
        sleep 3
    done
    log "the migrations did not finish within $migrate_timeout s"
    return 1
}

# Every replica Swarm wants running runs the service's current image: prints their number.
web_converged() {
    local spec wanted running=0 image state
    spec="$(docker service inspect --format \
        '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}}' "$web_service")"
    wanted="${spec##* }"
    spec="${spec% *}"
    while read -r image state; do
        [[ "$image" == "$spec" && "$state" == running ]] || return 1
        running=$((running + 1))
    done < <(docker service ps --quiet --no-trunc --filter desired-state=running "$web_service" |
        xargs --no-run-if-empty docker inspect --format '{{.Spec.ContainerSpec.Image}} {{.Status.State}}')
    ((running > 0 && running == wanted)) || return 1
    echo "$running"
}

# Swarm updates the replicas in the background; its verdict is the service's UpdateStatus.
# A changed service has no UpdateStatus until the orchestrator picks the update up (Swarm
# resets it), while the old replicas still run: so neither "no status" nor "completed"
# counts before every replica runs the new image.
wait_for_web() {
    local deadline state replicas reason=""
    deadline=$((SECONDS + rollout_timeout))
    while ((SECONDS < deadline)); do
        state="$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$web_service")"
        case "$state" in
            rollback_started)
                # Swarm's reason (which task failed) is in the message only while it rolls back.
                if [[ -z "$reason" ]]; then
                    reason="$(docker service inspect --format '{{.UpdateStatus.Message}}' "$web_service")"
                    log "Swarm is rolling back: $reason"
                fi
                ;;
            "" | completed)
                if replicas="$(web_converged)"; then
                    log "web: $replicas replicas running $MINITWIT_TAG"
                    return 0
                fi
                ;;
            rollback_completed)
                log "a new web replica failed; Swarm rolled back to the previous release"
                log "why: docker service ps --no-trunc $web_service; docker service logs $web_service"
                return 1
                ;;
            paused | rollback_paused)
                log "the web update is $state: docker service ps $web_service"
                return 1
                ;;
        esac
        sleep 5
    done
    log "web did not converge within $rollout_timeout s: docker service ps $web_service"
    return 1
}

first_deploy=true
if service_exists "$migrate_service"; then
    first_deploy=false
    # 2. Migrations first, with the new image, while the current replicas keep serving.
    log "migrating with $image"
    docker service update --detach --quiet --force --with-registry-auth \
        --image "$image" "$migrate_service" >/dev/null
    wait_for_migrations || die "the migrations failed; the running release is untouched"
fi

# 3. Everything else, web included. The migrate job runs once more here: a no-op.
log "deploying $image as stack $stack"
docker stack deploy --with-registry-auth "${compose_files[@]}" "$stack"
if $first_deploy; then
    wait_for_migrations || die "the first migrations failed: docker service logs $migrate_service"
fi
wait_for_web || die "release $MINITWIT_TAG is not running"

# 4. History for deploy/rollback.sh: only releases that came up.
printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$MINITWIT_TAG" >>"$state_dir/releases"
log "release $MINITWIT_TAG is live"

#!/usr/bin/env bash
# The deployment for real, on this machine (docs/operations.md, "Real-engine rehearsal"):
#   1. Debian's Docker engine (dockerd 20.10), started privately with every feature that
#      would change the machine's network off;
#   2. the project's image built from its unedited Dockerfile (on a stand-in of its Python
#      base image, made from a debootstrap root), then run the way stack.yml runs it:
#      migrations, the endpoints, the healthcheck, `docker stop` during a slow request;
#   3. stack.yml on a single-node Swarm (deploy/engine/stack.ci.yml replaces the images
#      Docker Hub would provide): the migration job, two healthy replicas on the database,
#      deploy/deploy.sh rolling release A to B under load, a broken release C rolled back by
#      Swarm, deploy/rollback.sh back to A;
#   4. everything removed again, also when a check fails, and the machine compared with
#      what it was before: links, routes, iptables rules, IPsec state, mounts, files.
#
# Needs root, the project's virtualenv (make install) and this machine's PostgreSQL on
# 127.0.0.1:5432 (step 2). Takes 5-10 minutes. ENGINE_STEPS=container skips the Swarm part.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=deploy/engine/engine.sh
. deploy/engine/engine.sh
# shellcheck source=deploy/engine/images.sh
. deploy/engine/images.sh
# shellcheck source=deploy/engine/container.sh
. deploy/engine/container.sh
# shellcheck source=deploy/engine/swarm.sh
. deploy/engine/swarm.sh

[[ "$(id -u)" == 0 ]] || {
    echo "check.sh: needs root (it starts a Docker daemon)" >&2
    exit 1
}
[[ -x .venv/bin/python ]] || {
    echo "check.sh: run make install first" >&2
    exit 1
}
steps="${ENGINE_STEPS:-container swarm}"

# One run at a time on a machine: Swarm's gossip port (7946) is fixed, and the files dockerd
# writes outside its directories are shared.
exec 9>/run/lock/minitwit-engine-check.lock
flock --nonblock 9 || {
    echo "check.sh: another run holds /run/lock/minitwit-engine-check.lock" >&2
    exit 1
}

declare -a timings=() results=()
# A number the issue asks for, printed again at the end.
result() { results+=("$(printf '%-58s %s' "$1" "$2")"); }
phase_started=$SECONDS
phase() {
    timings+=("$(printf '%-58s %4d s' "$1" $((SECONDS - phase_started)))")
    phase_started=$SECONDS
}

engine_clean_stale
machine_before="$(engine_record_machine)"
background=()
ENGINE_DIR="$(mktemp -d /tmp/minitwit-engine.XXXXXX)"

finish() {
    local status=$? after
    trap - EXIT INT TERM
    set +e
    # Builds and pushes still running in the background are this run's own.
    local pid
    for pid in "${background[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    swarm_stop_helpers
    engine_teardown
    after="$(engine_record_machine)"
    if [[ "$after" != "$machine_before" ]]; then
        echo "check.sh: the machine is not as it was before the check:" >&2
        diff <(echo "$machine_before") <(echo "$after") >&2
        status=1
    else
        engine_log "the machine is as it was: links, routes, iptables rules, IPsec, mounts, files"
    fi
    phase "cleanup"
    echo
    printf '%s\n' "${timings[@]}"
    printf '%-58s %4d s\n' "total" "$SECONDS"
    if ((${#results[@]})); then
        echo
        printf '%s\n' "${results[@]}"
    fi
    ((status == 0)) && echo "real-engine check passed" || echo "real-engine check FAILED" >&2
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# --- 1. the engine ------------------------------------------------------------------------
packages=()
command -v dockerd >/dev/null || packages+=(docker.io)
command -v debootstrap >/dev/null || packages+=(debootstrap)
command -v iptables-save >/dev/null || packages+=(iptables)
# To remove the nftables tables the encrypted overlay's iptables rules needed.
command -v nft >/dev/null || packages+=(nftables)
if ((${#packages[@]})); then
    engine_log "installing ${packages[*]} (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >/dev/null
fi
phase "Debian packages"
engine_start
phase "dockerd started"

# --- 2. the image, run as the stack runs it -----------------------------------------------
images_debian_base bookworm
phase "Debian base image (debootstrap, or the cache)"
if [[ " $steps " == *" swarm "* ]]; then
    # Needed only by the Swarm part: built meanwhile.
    { images_postgres bookworm "$SWARM_POSTGRES_IMAGE" &&
        images_redis bookworm "$SWARM_REDIS_IMAGE"; } >"$ENGINE_DIR/postgres.log" 2>&1 &
    postgres_build=$!
    background+=("$postgres_build")
fi
images_python_standins
phase "base image stand-in ($ENGINE_PYTHON_IMAGE)"
build_started=$SECONDS
images_app minitwit-engine:build
result "image build, cold (stand-in base present)" "$((SECONDS - build_started)) s"
phase "image build, cold"
# A source change on a copy of the tree: everything before `COPY . .` comes from the cache.
build_started=$SECONDS
probe="$ENGINE_DIR/cache-probe"
mkdir -p "$probe"
tar --exclude=./.git --exclude=./.venv -cf - . | tar -xf - -C "$probe"
echo "# cache probe $(date +%s%N)" >>"$probe/gunicorn.conf.py"
images_app minitwit-engine:cache-probe "$probe"
result "image build, cached (one source file changed)" "$((SECONDS - build_started)) s"
docker rmi --force minitwit-engine:cache-probe >/dev/null
rm -rf "$probe"
phase "image build, cached (one source file changed)"

# The releases for Swarm are built and pushed while the container checks run.
if [[ " $steps " == *" swarm "* ]]; then
    swarm_start_registry
    swarm_releases minitwit-engine:build >"$ENGINE_DIR/releases.log" 2>&1 &
    releases=$!
    background+=("$releases")
fi

if [[ " $steps " == *" container "* ]]; then
    container_check minitwit-engine:build
    phase "container checks"
fi

# --- 3. Swarm ----------------------------------------------------------------------------
if [[ " $steps " == *" swarm "* ]]; then
    wait "$releases" || {
        cat "$ENGINE_DIR/releases.log" >&2
        engine_log "the releases could not be built or pushed"
        exit 1
    }
    wait "$postgres_build" || {
        cat "$ENGINE_DIR/postgres.log" >&2
        engine_log "the PostgreSQL or Redis stand-in does not build"
        exit 1
    }
    background=()
    phase "releases A, B, C in the registry; PostgreSQL and Redis stand-ins"
    swarm_rehearsal
fi


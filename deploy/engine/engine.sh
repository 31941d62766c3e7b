# shellcheck shell=bash
# A private Docker engine for deploy/engine/check.sh, and its removal down to the last trace.
# Sourced, not run. Facts it relies on (measured with Debian bookworm's dockerd 20.10):
#   - with its own socket and directories and every network feature off, dockerd leaves the
#     machine's routes, links and iptables alone;
#   - Swarm adds a docker_gwbridge network (a link and a route), an encrypted overlay adds
#     iptables rules for the VXLAN port even with --iptables=false, and both outlive the
#     daemon unless removed; so, rarely, does an overlay's VXLAN link;
#   - dockerd writes a few files outside its data root (/etc/docker/key.json,
#     /var/lib/docker/network/files/, /run/containerd/).
# engine_record_machine, taken before the engine starts and again after engine_teardown, is
# how check.sh proves the machine was left as it was found.
#
# Globals: ENGINE_DIR (private directory, set by the caller), DOCKER_HOST (set here).

# Paths dockerd or its containerd may create outside ENGINE_DIR. Removed by engine_teardown
# only when they did not exist before the engine started.
ENGINE_OUTSIDE_PATHS=(/etc/docker/key.json /var/lib/docker /run/containerd /run/docker)
ENGINE_STARTED_HERE=false

engine_log() { printf '%s engine: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# What an engine could change, one fact per line, for a before/after comparison: network
# links, routes, policy rules, IPsec state, iptables rules, mounts, forwarding, and the
# paths above.
engine_record_machine() {
    echo "# links"
    ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
    echo "# routes"
    ip route show table all | sort
    ip -6 route show table all | sort
    echo "# policy rules"
    ip rule show | sort
    echo "# IPsec"
    ip xfrm state | sort
    ip xfrm policy | sort
    echo "# iptables rules, nftables tables"
    iptables-save 2>/dev/null | grep -E '^-' | sort || true
    ip6tables-save 2>/dev/null | grep -E '^-' | sort || true
    nft list tables 2>/dev/null | sort || true
    echo "# mounts"
    awk '{print $5}' /proc/self/mountinfo | sort
    echo "# forwarding"
    cat /proc/sys/net/ipv4/ip_forward
    echo "# files"
    local path
    for path in "${ENGINE_OUTSIDE_PATHS[@]}"; do
        [[ -e "$path" ]] && echo "$path"
    done
    return 0
}

engine_pid() {
    local pid
    [[ -s "$ENGINE_DIR/dockerd.pid" ]] || return 1
    pid="$(cat "$ENGINE_DIR/dockerd.pid")"
    [[ -d "/proc/$pid" ]] && [[ "$(cat "/proc/$pid/comm")" == dockerd ]] || return 1
    echo "$pid"
}

engine_start() {
    local path
    # Everything the engine stores lives in memory: builds and containers are faster, and
    # the teardown is an unmount instead of deleting a few GB of image layers file by file
    # (a minute on this machine's disk). The size is a ceiling, not a reservation.
    ENGINE_STARTED_HERE=true
    mount -t tmpfs -o "size=${ENGINE_TMPFS_SIZE:-4g},mode=0700" minitwit-engine "$ENGINE_DIR"
    mkdir -p "$ENGINE_DIR/data" "$ENGINE_DIR/exec"
    : >"$ENGINE_DIR/outside-before"
    for path in "${ENGINE_OUTSIDE_PATHS[@]}"; do
        [[ -e "$path" ]] && echo "$path" >>"$ENGINE_DIR/outside-before"
    done
    iptables-save 2>/dev/null | grep -E '^-' >"$ENGINE_DIR/iptables-before" || true
    nft list tables >"$ENGINE_DIR/nft-tables-before" 2>/dev/null || true
    ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' >"$ENGINE_DIR/links-before"
    # An empty config file of its own: a daemon.json on this machine must not change the flags.
    echo '{}' >"$ENGINE_DIR/daemon.json"
    engine_log "starting dockerd in $ENGINE_DIR"
    dockerd \
        --config-file "$ENGINE_DIR/daemon.json" \
        --host "unix://$ENGINE_DIR/docker.sock" \
        --data-root "$ENGINE_DIR/data" \
        --exec-root "$ENGINE_DIR/exec" \
        --pidfile "$ENGINE_DIR/dockerd.pid" \
        --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --bridge=none \
        --storage-driver=overlay2 \
        >"$ENGINE_DIR/dockerd.log" 2>&1 &
    export DOCKER_HOST="unix://$ENGINE_DIR/docker.sock"
    local _
    for _ in $(seq 60); do
        docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        tail -n 30 "$ENGINE_DIR/dockerd.log" >&2
        engine_log "dockerd did not answer within 30 s"
        return 1
    fi
    engine_log "dockerd $(docker version --format '{{.Server.Version}}') is up"
}

# Free ports on loopback for Swarm (TCP) and its data path (UDP). A race with another
# program is possible but harmless: swarm init then fails and says which port.
engine_free_port() {
    python3 -c '
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
for port in range(int(sys.argv[2]), int(sys.argv[3])):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
' "$1" "$2" "$3"
}

engine_swarm_init() {
    ENGINE_SWARM_PORT="$(engine_free_port tcp 23770 23800)"
    ENGINE_DATA_PATH_PORT="$(engine_free_port udp 47890 47920)"
    echo "$ENGINE_DATA_PATH_PORT" >"$ENGINE_DIR/data-path-port"
    docker swarm init \
        --advertise-addr "127.0.0.1:$ENGINE_SWARM_PORT" \
        --listen-addr "127.0.0.1:$ENGINE_SWARM_PORT" \
        --data-path-port "$ENGINE_DATA_PATH_PORT" >/dev/null
    engine_log "single-node swarm on 127.0.0.1:$ENGINE_SWARM_PORT (data path udp/$ENGINE_DATA_PATH_PORT)"
}

# Everything the engine left, removed in order: the swarm and its containers while the daemon
# still runs, then the daemon (by its pidfile), then what outlives it. Safe to call twice,
# and after a failure anywhere (check.sh's EXIT trap).
engine_teardown() {
    $ENGINE_STARTED_HERE || return 0
    local pid
    if pid="$(engine_pid)"; then
        if [[ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" == active ]]; then
            docker stack ls --format '{{.Name}}' 2>/dev/null | xargs --no-run-if-empty -n1 docker stack rm >/dev/null 2>&1 || true
            # Leaving while the overlay networks are still being taken down can strand one's
            # VXLAN link in the host's namespace: let them go first.
            local _
            for _ in $(seq 30); do
                [[ -z "$(docker network ls --quiet --filter driver=overlay --filter label=com.docker.stack.namespace 2>/dev/null)" ]] && break
                sleep 1
            done
            docker swarm leave --force >/dev/null 2>&1 || engine_log "swarm leave failed"
        fi
        docker ps -aq 2>/dev/null | xargs --no-run-if-empty docker rm -f >/dev/null 2>&1 || true
        if docker network inspect docker_gwbridge >/dev/null 2>&1; then
            docker network rm docker_gwbridge >/dev/null || engine_log "could not remove docker_gwbridge"
        fi
        engine_log "stopping dockerd (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local _
        for _ in $(seq 60); do
            [[ -d "/proc/$pid" ]] || break
            sleep 0.5
        done
        if [[ -d "/proc/$pid" ]]; then
            engine_log "dockerd did not stop within 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
    engine_kill_leftover_processes
    # The mounts inside the private directory go first; the directory's own tmpfs holds the
    # records read below (what existed before), so it goes last.
    engine_unmount_all nested
    engine_remove_overlay_rules
    engine_remove_empty_tables
    engine_remove_vxlan_links
    # If the daemon died before it could remove it, the link (and its route) is still there.
    if ip link show docker_gwbridge >/dev/null 2>&1 && [[ -f "$ENGINE_DIR/links-before" ]] &&
        ! grep -qx docker_gwbridge "$ENGINE_DIR/links-before"; then
        ip link delete docker_gwbridge || engine_log "could not delete the docker_gwbridge link"
    fi
    local path
    if [[ -f "$ENGINE_DIR/outside-before" ]]; then
        for path in "${ENGINE_OUTSIDE_PATHS[@]}"; do
            if [[ -e "$path" ]] && ! grep -qxF "$path" "$ENGINE_DIR/outside-before"; then
                rm -rf --one-file-system "$path"
            fi
        done
    else
        engine_log "no record of what existed before: ${ENGINE_OUTSIDE_PATHS[*]} left as they are"
    fi
    engine_unmount_all
    # --one-file-system: should a mount have survived, its contents are not ours to delete.
    rm -rf --one-file-system "$ENGINE_DIR"
    ENGINE_STARTED_HERE=false
}

# A run that was killed outright (SIGKILL, a lost machine) could not clean up after itself.
# Its tmpfs is still mounted and names its directory; the caller holds the lock, so no other
# run is using it. Each is torn down like the end of a run, from the records it kept.
engine_clean_stale() {
    local dir
    while read -r dir; do
        engine_log "cleaning up after an earlier run that did not finish: $dir"
        engine_teardown_of "$dir"
    done < <(awk '$1 == "minitwit-engine" {print $2}' /proc/mounts)
}

engine_teardown_of() {
    # Dynamic scope: engine_teardown and its helpers see these, the caller's stay as they were.
    local ENGINE_DIR="$1" ENGINE_STARTED_HERE=true
    local -x DOCKER_HOST="unix://$1/docker.sock"
    engine_teardown
}

# containerd and its shims are the daemon's children and exit with it; one that did not (a
# daemon killed mid-way) is found by the private directory on its command line.
engine_kill_leftover_processes() {
    local proc pid
    for proc in /proc/[0-9]*; do
        pid="${proc#/proc/}"
        [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
        if tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | grep -qF -- "$ENGINE_DIR"; then
            engine_log "ending leftover process $pid: $(tr '\0' ' ' <"$proc/cmdline" | cut -c1-120)"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

# The netns mount (EXEC_ROOT/netns/default) may outlive dockerd; so may overlay mounts of a
# daemon that was killed. Deepest first; with `nested`, all but ENGINE_DIR's own tmpfs.
engine_unmount_all() {
    local target own=1
    [[ "${1:-}" == nested ]] && own=0
    awk -v dir="$ENGINE_DIR" -v own="$own" '($5 == dir && own) || index($5, dir "/") == 1 {print $5}' \
        /proc/self/mountinfo | sort -r |
        while read -r target; do
            umount "$target" 2>/dev/null || umount -l "$target" || engine_log "could not unmount $target"
        done
}

# Inserting those rules made their tables (iptables here is iptables-nft); once the rules
# are gone, a table that did not exist before and holds no rule is deleted too.
engine_remove_empty_tables() {
    local family name
    command -v nft >/dev/null && [[ -f "$ENGINE_DIR/nft-tables-before" ]] || return 0
    nft list tables 2>/dev/null | while read -r _ family name; do
        grep -qxF "table $family $name" "$ENGINE_DIR/nft-tables-before" && continue
        # Chains, their hooks and policies only: any other line is a rule.
        if nft list table "$family" "$name" | grep -qvE '^[[:space:]]*(table |chain |type |}|$)'; then
            engine_log "the table $family $name was made during the check and still has rules: kept"
            continue
        fi
        engine_log "deleting the empty table $family $name, made for the overlay's rules"
        nft delete table "$family" "$name" || engine_log "could not delete the table $family $name"
    done
}

# An overlay network's VXLAN link is made in the host's namespace and then moved into the
# network's own; one caught mid-way by the teardown stays behind (seen once in a dozen runs:
# vx-001003-xxxxx). Only links on this run's data-path port that were not there before.
engine_remove_vxlan_links() {
    local port name
    [[ -s "$ENGINE_DIR/data-path-port" && -f "$ENGINE_DIR/links-before" ]] || return 0
    port="$(cat "$ENGINE_DIR/data-path-port")"
    ip -details -oneline link show type vxlan 2>/dev/null |
        awk -v port="$port" '{
            for (i = 1; i < NF; i++) if ($i == "dstport" && $(i + 1) == port) {
                name = $2; sub(/:$/, "", name); sub(/@.*/, "", name); print name
            }
        }' |
        while read -r name; do
            grep -qxF -- "$name" "$ENGINE_DIR/links-before" && continue
            engine_log "deleting the VXLAN link $name, left in the host's namespace"
            ip link delete "$name" || engine_log "could not delete the link $name"
        done
}

# The encrypted overlay's rules for its VXLAN port (a MARK rule in mangle OUTPUT, an ACCEPT
# for IPsec and a DROP for the rest in filter INPUT), deleted with the same specification. Only
# rules for this run's data-path port that were not there before the engine started.
engine_remove_overlay_rules() {
    local port table rule
    [[ -s "$ENGINE_DIR/data-path-port" ]] || return 0
    port="$(cat "$ENGINE_DIR/data-path-port")"
    for table in mangle filter; do
        iptables-save -t "$table" 2>/dev/null | grep -E -- "^-A (OUTPUT|INPUT) .*--dport $port( |$)" |
            while IFS= read -r rule; do
                grep -qxF -- "$rule" "$ENGINE_DIR/iptables-before" 2>/dev/null && continue
                engine_log "deleting iptables -t $table ${rule}"
                # xargs splits the rule the way iptables-save quoted it.
                printf '%s\n' "-D ${rule#-A }" | xargs iptables -t "$table" ||
                    engine_log "could not delete: $rule"
            done
    done
}

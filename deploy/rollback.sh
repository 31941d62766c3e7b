#!/usr/bin/env bash
# Go back to the previous release:   deploy/rollback.sh [TAG]
#
# Without TAG: the last release in deploy.sh's history that differs from the current one.
# A rollback is a deploy of the older tag (deploy/deploy.sh): its migrate job finds nothing
# to do, and its replicas run on the newer schema because every migration is written
# expand/contract (docs/operations.md, "Upgrades"). Same environment as deploy.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
    printf 'rollback: ERROR: %s\n' "$*" >&2
    exit 1
}

history="${MINITWIT_STATE_DIR:-$HOME/.local/state/minitwit}/releases"
if [[ $# -eq 1 ]]; then
    tag="$1"
elif [[ $# -eq 0 ]]; then
    [[ -s "$history" ]] || die "no release history in $history; name the tag: deploy/rollback.sh v1.3.0"
    current="$(tail -n 1 "$history" | cut -d' ' -f2)"
    tag="$(awk -v current="$current" '$2 != current { tag = $2 } END { print tag }' "$history")"
    [[ -n "$tag" ]] || die "$history has no release before $current"
else
    die "usage: deploy/rollback.sh [TAG]"
fi

printf 'rollback: to %s\n' "$tag" >&2
exec deploy/deploy.sh "$tag"

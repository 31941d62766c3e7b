#!/usr/bin/env bash
# schemathesis against the OpenAPI schema that a running MiniTwit serves at /api/schema/,
# with every check (.ci/schemathesis.toml): no 5xx, every response as documented, no request
# the schema forbids accepted and none it allows refused. A fixed seed keeps CI repeatable;
# SCHEMATHESIS_SEED=random explores.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/live_server.sh
source .ci/live_server.sh

port=$($LIVE_PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_live_server "127.0.0.1:$port"
seed=()
[[ ${SCHEMATHESIS_SEED:-1} != random ]] && seed=(--seed "${SCHEMATHESIS_SEED:-1}")
.venv/bin/st --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/api/schema/" \
  --url "http://127.0.0.1:$port" --checks all "${seed[@]}" --no-color

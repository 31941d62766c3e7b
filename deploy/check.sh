#!/usr/bin/env bash
# Static checks of everything deploy-related, for .ci/run and the GitHub CI workflow:
#   the Dockerfiles with hadolint (the project's, and deploy/engine/'s stand-ins);
#   every shell script under deploy/ and .ci/ with ShellCheck;
#   the GitHub Actions workflows with actionlint (their `run:` steps through ShellCheck too);
#   stack.yml with `docker stack config`, which renders it as `docker stack deploy` reads it.
# The linters come from requirements-dev.txt (make install); the docker CLI needs no engine.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"

echo "hadolint: Dockerfile and the real-engine check's stand-ins"
hadolint Dockerfile deploy/engine/python-base/Dockerfile deploy/engine/postgres/Dockerfile

mapfile -t scripts < <(find deploy .ci -type f \( -name '*.sh' -o -path .ci/run \) | sort)
echo "shellcheck: ${#scripts[@]} scripts"
shellcheck "${scripts[@]}"

echo "actionlint: .github/workflows"
actionlint

echo "docker stack config: stack.yml"
MINITWIT_IMAGE=registry.example.org/minitwit MINITWIT_TAG=ci MINITWIT_DOMAIN=minitwit.example.org \
    docker stack config --compose-file stack.yml >/dev/null
echo "deploy checks passed"

#!/usr/bin/env bash
# The ITU DevOps course's own test files, run unmodified against MiniTwit served the
# production way (gunicorn) on a fresh database, on the addresses the files name:
# http://localhost:5000 for the UI tests and http://127.0.0.1:5001 for the API test and the
# simulator.
#
#   COURSE_TESTS_DIR=/path/to/them .ci/course_tests.sh
#
# The directory must hold refactored_minitwit_tests.py (requests-based UI tests),
# test_itu_minitwit_ui.py (Selenium sign-up test), minitwit_sim_api_test.py with its
# schema.sql (API test) and minitwit_simulator.py; the scenario is its minitwit_scenario.csv
# or else ../shared/minitwit_scenario.csv. They are not in this repository (they are the
# course's), and CI has no internet to fetch them, so without COURSE_TESTS_DIR this step
# says so and passes. LIVE_DATABASE=postgresql runs them on PostgreSQL (.ci/live_server.sh).
#
# What is not the files' own: the Selenium test runs in Debian's Chromium instead of
# Firefox, and looks users up in MiniTwit's database instead of MongoDB
# (.ci/course_tests/course_shim.py); the simulator runs from a scratch folder where its
# scenario is linked under the name it opens.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z ${COURSE_TESTS_DIR:-} ]]; then
  echo "course tests skipped: COURSE_TESTS_DIR is not set (see .ci/course_tests.sh)"
  exit 0
fi
course=$(cd "$COURSE_TESTS_DIR" && pwd)
for file in refactored_minitwit_tests.py test_itu_minitwit_ui.py minitwit_sim_api_test.py \
  schema.sql minitwit_simulator.py; do
  [[ -f $course/$file ]] || { echo "course tests: $course/$file is missing" >&2; exit 1; }
done
scenario=$course/minitwit_scenario.csv
[[ -f $scenario ]] || scenario=$(cd .. && pwd)/shared/minitwit_scenario.csv
[[ -f $scenario ]] || { echo "course tests: no minitwit_scenario.csv" >&2; exit 1; }

# shellcheck source=.ci/live_server.sh
source .ci/live_server.sh
start_live_server 127.0.0.1:5000 127.0.0.1:5001
export MINITWIT_ROOT=$PWD
python=$PWD/.venv/bin/python
pytest=("$PWD/.venv/bin/pytest" -p no:cacheprovider -p no:django -v)

echo "--- requests-based UI tests (refactored_minitwit_tests.py)"
(cd "$course" && "${pytest[@]}" refactored_minitwit_tests.py)

echo "--- Selenium sign-up test (test_itu_minitwit_ui.py) in Chromium"
(cd "$course" && PYTHONPATH=$MINITWIT_ROOT/.ci/course_tests "${pytest[@]}" -p course_shim \
  test_itu_minitwit_ui.py)

echo "--- API test (minitwit_sim_api_test.py)"
# Written for the Flask reference, it deletes /tmp/minitwit.db and recreates it from its
# schema.sql before testing: the file must exist. Our server does not use it.
touch /tmp/minitwit.db
(cd "$course" && "${pytest[@]}" minitwit_sim_api_test.py)
rm -f /tmp/minitwit.db

# The whole scenario twice: as the course runs it, and with a base URL ending in "/", which
# makes the simulator send //register, //msgs/... (served as /register, /msgs/...).
simulator_dir=$LIVE_WORKDIR/simulator
mkdir "$simulator_dir"
ln -s "$course/minitwit_simulator.py" "$simulator_dir/minitwit_simulator.py"
ln -s "$scenario" "$simulator_dir/minitwit_scenario.csv"
for base_url in http://127.0.0.1:5001 http://127.0.0.1:5001/; do
  echo "--- simulator (minitwit_simulator.py), whole scenario, base URL $base_url"
  started=$SECONDS
  (cd "$simulator_dir" && "$python" minitwit_simulator.py "$base_url") \
    >"$LIVE_WORKDIR/simulator.txt" 2>&1 || true
  # The simulator prints one line per error (a status it does not expect, a timeout, a
  # refused connection, an exception) and nothing else.
  errors=$(grep -c . "$LIVE_WORKDIR/simulator.txt" || true)
  echo "simulator: $(wc -l <"$scenario") actions, $errors error lines, $((SECONDS - started)) s"
  if [[ $errors -ne 0 ]]; then
    head -n 20 "$LIVE_WORKDIR/simulator.txt"
    exit 1
  fi
done
echo "course tests passed"

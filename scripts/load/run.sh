#!/usr/bin/env bash
# Load test: gunicorn (bin/web) on PostgreSQL with the scale data, 50 users for 2 minutes
# (workers recording visits and loading My work, managers loading dashboards), then the
# same server and the same users on /healthz. Prints a summary and writes JSON.
#
#   DATABASE_URL=postgres://... scripts/load/run.sh
#
# Settings: LOAD_USERS_N (50), LOAD_DURATION (2m), LOAD_TRIVIAL_DURATION (30s),
# LOAD_PORT (8790), LOAD_OUT (var/load.json), LOAD_SCALE (cases built if none, 20000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ "${DATABASE_URL:-}" != postgres* ]]; then
    echo "Set DATABASE_URL to a PostgreSQL database (the scale data lives there)" >&2
    exit 2
fi
export DEMO_MODE=1
export VAR_DIR="${VAR_DIR:-var}"
work="$VAR_DIR/load"
mkdir -p "$work"
export LOAD_USERS="$work/users.json"
users="${LOAD_USERS_N:-50}"
duration="${LOAD_DURATION:-2m}"
trivial_duration="${LOAD_TRIVIAL_DURATION:-30s}"
port="${LOAD_PORT:-8790}"
out="${LOAD_OUT:-$VAR_DIR/load.json}"
py=.venv/bin/python
[[ -x $py ]] || py=python

$py manage.py migrate --noinput -v0
$py manage.py shell < scripts/load/prepare.py

WEB_BIND="127.0.0.1:$port" WEB_LOG_LEVEL=warning bin/web --access-logfile /dev/null \
    > "$work/gunicorn.log" 2>&1 &
web=$!
trap 'kill "$web" 2>/dev/null || true; wait "$web" 2>/dev/null || true' EXIT
up=
for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && { up=1; break; }
    sleep 0.5
done
if [[ -z $up ]]; then
    echo "gunicorn did not answer /healthz; its log:" >&2
    tail -n 30 "$work/gunicorn.log" >&2
    exit 1
fi

locust=(.venv/bin/locust -f scripts/load/locustfile.py --headless --only-summary
        --host "http://127.0.0.1:$port" -u "$users" -r 10)
echo "Scenario: $users users for $duration"
"${locust[@]}" -t "$duration" --csv "$work/scenario" WorkerUser ManagerUser \
    > "$work/scenario.log" 2>&1 || true
echo "Trivial view: $users users for $trivial_duration"
"${locust[@]}" -t "$trivial_duration" --csv "$work/trivial" TrivialUser \
    > "$work/trivial.log" 2>&1 || true

$py scripts/load/report.py "$work/scenario" "$work/trivial" "$out" "$users" "$duration"

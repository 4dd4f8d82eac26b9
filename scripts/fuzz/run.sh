#!/usr/bin/env bash
# API fuzzing: schemathesis with the schema from /api/v1/schema/ of a live server
# (gunicorn, bin/web) with the demo data on PostgreSQL, once as each role, with token
# authentication and the ids each role may see. Prints, per role, the operations,
# requests and responses of 5xx; fails if there is any 5xx (or a request that got no
# response at all).
#
#   DATABASE_URL=postgres://... scripts/fuzz/run.sh
#
# It never touches DATABASE_URL's own database: it builds a fresh one beside it, named
# <name>_fuzz (or FUZZ_DATABASE_URL), migrates it and loads the demo data.
# Settings: FUZZ_SECONDS (time per role, 40; 0: no limit, every operation's boundary
# cases and FUZZ_EXAMPLES (25) generated requests each), FUZZ_ROLES (all five:
# social_worker team_manager practice_supervisor business_support service_manager),
# FUZZ_WORKERS (2), FUZZ_PORT (8791), FUZZ_SEED (random), FUZZ_OUT (var/fuzz.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ "${DATABASE_URL:-}" != postgres* ]]; then
    echo "Set DATABASE_URL to a PostgreSQL server (a <name>_fuzz database is built there)" >&2
    exit 2
fi
py=.venv/bin/python
st=.venv/bin/schemathesis
[[ -x $py ]] || py=python
[[ -x $st ]] || st=schemathesis

export VAR_DIR="${VAR_DIR:-var}"
export FUZZ_DIR="$VAR_DIR/fuzz"
rm -rf "$FUZZ_DIR"
mkdir -p "$FUZZ_DIR"
seconds="${FUZZ_SECONDS:-40}"
workers="${FUZZ_WORKERS:-2}"
port="${FUZZ_PORT:-8791}"
out="${FUZZ_OUT:-$VAR_DIR/fuzz.json}"
export FUZZ_ROLES="${FUZZ_ROLES:-social_worker team_manager practice_supervisor business_support service_manager}"

DATABASE_URL="${FUZZ_DATABASE_URL:-$($py scripts/fuzz/database.py name "$DATABASE_URL")}"
export DATABASE_URL
export DEMO_MODE=1
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
# Tasks run where they are queued (in the seeding, in the request), so that their errors
# show too; nothing goes to a real broker.
export CELERY_TASK_ALWAYS_EAGER=true CELERY_BROKER_URL=memory://
# The fuzzer looks for wrong answers to bad input, not for rate limits: throttles and the
# failed-authentication guard (429 after 20 refusals from one address) would hide them.
export API_THROTTLE_USER=1000000/min API_THROTTLE_ANON=1000000/min API_AUTH_FAILURE_LIMIT=1000000
$py scripts/fuzz/database.py recreate "$DATABASE_URL"
$py manage.py migrate --noinput -v0
$py manage.py seed_demo --quiet-logins > "$FUZZ_DIR/seed.log" 2>&1
$py manage.py shell -v0 < scripts/fuzz/prepare.py

WEB_BIND="127.0.0.1:$port" WEB_LOG_LEVEL=warning bin/web --access-logfile /dev/null \
    > "$FUZZ_DIR/web.log" 2>&1 &
web=$!
trap 'kill "$web" 2>/dev/null || true; wait "$web" 2>/dev/null || true' EXIT
up=
for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && { up=1; break; }
    sleep 0.5
done
if [[ -z $up ]]; then
    echo "gunicorn did not answer /healthz; its log:" >&2
    tail -n 30 "$FUZZ_DIR/web.log" >&2
    exit 1
fi

# The schema, as the API serves it to a signed-in user (fetched once: building it takes
# seconds, longer than schemathesis waits on a busy machine).
token=$(head -n 1 "$FUZZ_DIR/roles.tsv" | cut -f3)
curl -fsS --max-time 120 -H "Authorization: Token $token" \
    -H "Accept: application/vnd.oai.openapi+json" \
    -o "$FUZZ_DIR/schema.json" "http://127.0.0.1:$port/api/v1/schema/"

extra=()
[[ -n "${FUZZ_SEED:-}" ]] && extra+=(--seed "$FUZZ_SEED")
if [[ $seconds == 0 ]]; then  # no time limit: every operation's boundary cases, then fuzzing
    extra+=(--max-examples "${FUZZ_EXAMPLES:-25}")
else
    extra+=(--max-time "$seconds")
fi
while IFS=$'\t' read -r role username token; do
    if [[ $seconds == 0 ]]; then
        echo "Fuzzing as $role ($username), every operation's boundary cases"
    else
        echo "Fuzzing as $role ($username) for up to ${seconds}s"
    fi
    "$st" --config-file "$FUZZ_DIR/$role.toml" run "$FUZZ_DIR/schema.json" \
        --url "http://127.0.0.1:$port" \
        --header "Authorization: Token $token" \
        --checks not_a_server_error \
        --phases coverage,fuzzing \
        --workers "$workers" \
        --request-timeout 90 \
        --generation-database none \
        --no-color \
        --report ndjson --report-ndjson-path "$FUZZ_DIR/$role.ndjson" \
        "${extra[@]}" > "$FUZZ_DIR/$role.log" 2>&1 || true
done < "$FUZZ_DIR/roles.tsv"

$py scripts/fuzz/report.py "$FUZZ_DIR" "$out"

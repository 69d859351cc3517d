#!/usr/bin/env bash
# Checks the running server against docs/openapi.yaml with schemathesis: a real
# `kiln up` (no workers) on a database of the test PostgreSQL, an app made with
# the CLI, then a bounded, reproducible run (fixed seed, 20 examples an
# operation, 120 s at most). Any 5xx, a response outside the spec's schemas or
# statuses fails it. scripts/test.sh runs it after the Swift tests with
# KILN_TEST_DATABASE_URL and KILN_TEST_BINARY set.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${KILN_TEST_DATABASE_URL:?set by scripts/test.sh}" "${KILN_TEST_BINARY:?set by scripts/test.sh}"
schemathesis=/opt/kiln-schemathesis/bin/schemathesis

home=$(mktemp -d /tmp/kiln-schemathesis.XXXXXX)
chmod 755 "$home"
up_pid=
files_pid=
stop() {
  if [ -n "$up_pid" ]; then
    # A server that cannot drain its requests in 30 s is killed: the run must end.
    kill -TERM "$up_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
  fi
  if [ -n "$files_pid" ]; then kill -TERM "$files_pid" 2>/dev/null || true; wait "$files_pid" 2>/dev/null || true; fi
  rm -rf "$home"
}
trap stop EXIT

# A database of its own, so that the run starts from nothing and leaves the tests' alone.
socket=$(sed -n 's/.*[?&]host=\([^&]*\).*/\1/p' <<<"$KILN_TEST_DATABASE_URL")
database="kiln_schemathesis_$$"
psql -h "$socket" -U kiln -d postgres -qc "CREATE DATABASE $database" >/dev/null
database_url="postgres://kiln@localhost:5432/$database?host=$socket"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server="http://127.0.0.1:$port"
# A source archive for a build, served on the loopback address the farm is told to trust.
mkdir -p "$home/site/app"
printf 'web: sleep 3600\n' > "$home/site/app/Procfile"
tar -czf "$home/site/app.tar.gz" -C "$home/site/app" Procfile
files_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$home/site" "$files_port" >"$home/files.log" 2>&1 &
files_pid=$!
"$KILN_TEST_BINARY" up --home "$home" --host 127.0.0.1 --port "$port" --workers 0 --database-url "$database_url" \
  --allow-fetch-from 127.0.0.1/32 >"$home/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 600); do curl -sf "$server/health" >/dev/null && break; sleep 0.1; done
curl -sf "$server/health" >/dev/null || { echo "schemathesis: kiln up did not become healthy:" >&2; cat "$home/up.log" >&2; exit 1; }
. "$home/kiln.env"
export KILN_SERVER KILN_TOKEN
"$KILN_TEST_BINARY" apps create schemathesis >/dev/null
# No worker runs: the build stays queued, for the build operations to work on.
KILN_SCHEMATHESIS_BUILD=$("$KILN_TEST_BINARY" builds create --app schemathesis --source-url "http://127.0.0.1:$files_port/app.tar.gz" --detach | cut -d' ' -f1)
export KILN_SCHEMATHESIS_BUILD

# Cancel and retry work on that build; retried builds queue behind it, capped by the queue's limits.
# Left out: the key-making operation (every example would add a key), the
# app's deletion and the token's rotation (either would take away what the
# other examples work on: the app, the token they present), and git's
# pushes and fetches (a CGI conversation in git's own formats, which
# schemathesis cannot make up); the ref advertisement and signed slug URLs are in.
status=0
timeout 180 "$schemathesis" --config-file scripts/schemathesis.toml run docs/openapi.yaml \
  --url "$server" \
  --header "Authorization: Bearer $KILN_TOKEN" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance \
  --mode positive \
  --phases examples,coverage,fuzzing \
  --max-examples 20 \
  --seed 1 \
  --generation-database none \
  --max-time 120 \
  --request-timeout 40 \
  --workers 2 \
  --exclude-operation-id createKey \
  --exclude-operation-id deleteApp \
  --exclude-operation-id rotateAdminToken \
  --exclude-operation-id gitReceivePack \
  --exclude-operation-id gitUploadPack \
  --report-dir "$home/report" \
  --no-color || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis: the server does not keep to docs/openapi.yaml (above); the server's log:" >&2
  # (not the lines that carry its administrator token)
  grep -v KILN_TOKEN "$home/up.log" | tail -50 >&2
  # What the server's connections were doing: a request that timed out shows here when it waits on the database.
  psql -h "$socket" -U kiln -d postgres -c "SELECT pid, state, wait_event_type, wait_event, now() - query_start AS running, left(query, 160) AS query
    FROM pg_stat_activity WHERE datname = '$database'" >&2 || true
fi
exit "$status"

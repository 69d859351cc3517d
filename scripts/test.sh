#!/usr/bin/env bash
# Sets everything up and runs Kiln's tests against a real PostgreSQL that
# this script starts on a private data directory and socket, and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

# No direct file-system call on a path a build or a push controls (docs/security.md).
bash scripts/lint-hostile-paths.sh

swift build --build-tests
# The entrypoint of CNB app images, beside the kiln binary where workers look for it.
bash scripts/build-launcher.sh "$(swift build --show-bin-path)/kiln-launcher"

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
scratch=$(mktemp -d /tmp/kiln-test.XXXXXX)
chmod 755 "$scratch"
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$scratch/pg/run"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$scratch/pg"
cleanup() {
  run_pg "$pgbin/pg_ctl" -D "$scratch/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
run_pg "$pgbin/initdb" -D "$scratch/pg/data" -U kiln --auth=trust --no-sync >/dev/null
run_pg "$pgbin/pg_ctl" -D "$scratch/pg/data" -l "$scratch/pg/log" -w \
  -o "-c listen_addresses='' -k $scratch/pg/run -c fsync=off -c max_connections=200" start >/dev/null

export KILN_TEST_DATABASE_URL="postgres://kiln@localhost:5432/postgres?host=$scratch/pg/run"
export KILN_TEST_BINARY="$(swift build --show-bin-path)/kiln"
export KILN_TEST_SCRATCH="$scratch"
# Every Swift process of the run (kiln up, its server and workers, push hooks,
# the tests themselves) writes a crash's backtrace into crashes/, never waiting
# for a debugger: a crash anywhere fails the run, with its backtrace.
mkdir -p "$scratch/crashes"
chmod 1777 "$scratch/crashes"
export KILN_TEST_CRASHES="$scratch/crashes"
export SWIFT_BACKTRACE="enable=yes,interactive=no,color=no,output-to=$scratch/crashes"
status=0
swift test --skip-build "$@" || status=$?
# The running server against docs/openapi.yaml (docs/api.md), on whole runs.
if [ "$#" -eq 0 ] || [ "${KILN_SCHEMATHESIS:-}" = 1 ]; then
  bash scripts/schemathesis.sh || status=1
fi
if [ -n "$(ls -A "$scratch/crashes")" ]; then
  for crash in "$scratch"/crashes/*; do
    echo "test: a process crashed during the run; its backtrace ($crash):" >&2
    cat "$crash" >&2
  done
  status=1
fi
exit "$status"

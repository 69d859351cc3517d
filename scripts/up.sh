#!/usr/bin/env bash
# Sets everything up and runs Kiln on this machine: `scripts/up.sh [kiln up options]`
# (default: --home /tmp/kiln --port 8750 --workers 2).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
swift build -c release --product kiln
# The entrypoint of CNB app images, beside the kiln binary where workers look for it.
bash scripts/build-launcher.sh "$(swift build -c release --show-bin-path)/kiln-launcher"
args=("$@")
[ "${#args[@]}" -gt 0 ] || args=(--home /tmp/kiln --port 8750 --workers 2)
exec "$(swift build -c release --show-bin-path)/kiln" up "${args[@]}"

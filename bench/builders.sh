#!/usr/bin/env bash
# Cold build time of each built-in builder's sample app (Tests/Fixtures):
# a fresh `kiln up` (no dependency cache, no fetched buildpack), one worker,
# the samples pushed one after another; then a second, warm push of each.
# Prints the push time and the build's own time (claimed -> finished) with
# the worker's phase timings. The python sample installs from PyPI.
# Usage: bench/builders.sh [path/to/kiln]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${1:-$(swift build --show-bin-path)/kiln}
fixtures="$PWD/Tests/Fixtures"
export KILN_BUILDERS="$PWD/builders"
home=$(mktemp -d /tmp/kiln-bench-builders.XXXXXX)
chmod 755 "$home"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$kiln" up --home "$home" --port "$port" --workers 1 >"$home/up.log" 2>&1 &
up=$!
trap 'kill $up 2>/dev/null; wait $up 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
. "$home/kiln.env"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kiln $(basename "$(dirname "$kiln")") build"
printf '%-8s %-5s %10s %10s  %s\n' builder run push_ms build_ms phases
for builder in static node python elixir; do
  app="$builder-bench"
  "$kiln" apps create "$app" >/dev/null
  [ "$builder" = python ] && "$kiln" apps set --app "$app" --build-network on >/dev/null
  key=$("$kiln" keys create --app "$app" | tail -1)
  repo="$home/$app"
  cp -a "$fixtures/$builder-app" "$repo"
  (cd "$repo" && git init -q -b main && git add -A && git -c user.name=b -c user.email=b@b commit -qm init)
  for run in cold warm; do
    [ "$run" = warm ] && (cd "$repo" && git -c user.name=b -c user.email=b@b commit -q --allow-empty -m warm)
    s=$(date +%s%N)
    (cd "$repo" && git push -q "http://kiln:$key@127.0.0.1:$port/$app.git" main 2>"$home/$app-$run.log") || { echo "$builder $run push failed:"; tail -5 "$home/$app-$run.log"; exit 1; }
    e=$(date +%s%N)
    id=$("$kiln" builds list --app "$app" --json | python3 -c 'import json,sys; print(max(json.load(sys.stdin), key=lambda b: b["seq"])["id"])')
    build_ms=$("$kiln" builds show "$id" --json | python3 -c '
import json, sys, datetime
b = json.load(sys.stdin); p = lambda k: datetime.datetime.fromisoformat(b[k].replace("Z", "+00:00"))
print(int((p("finished_at") - p("started_at")).total_seconds() * 1000))')
    printf '%-8s %-5s %10d %10d  %s\n' "$builder" "$run" $(( (e - s) / 1000000 )) "$build_ms" "$("$kiln" builds show "$id" | sed -n 's/^timings *//p')"
  done
done

#!/usr/bin/env bash
# Push-to-slug time of the hello app (a Procfile app): `kiln up`, then 5
# pushes of new commits, each timed from `git push` to its exit (the build has
# finished and the release is recorded when git push returns). Prints the
# median and the per-phase timings the worker logged.
# Usage: bench/push.sh [path/to/kiln]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${1:-$(swift build --show-bin-path)/kiln}
export KILN_BUILDERS="$PWD/builders"
home=$(mktemp -d /tmp/kiln-bench-push.XXXXXX)
chmod 755 "$home"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$kiln" up --home "$home" --port "$port" --workers 2 >"$home/up.log" 2>&1 &
up=$!
trap 'kill $up 2>/dev/null; wait $up 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
. "$home/kiln.env"
"$kiln" apps create hello >/dev/null
key=$("$kiln" keys create --app hello | tail -1)
repo="$home/hello"
mkdir "$repo" && cd "$repo"
git init -q -b main
printf 'web: python3 -m http.server $PORT\n' > Procfile
printf '<h1>hello</h1>\n' > index.html
git add . && git -c user.name=b -c user.email=b@b commit -qm init

times=()
for i in 1 2 3 4 5; do
  [ "$i" = 1 ] || git -c user.name=b -c user.email=b@b commit -q --allow-empty -m "push $i"
  s=$(date +%s%N)
  git push -q "http://kiln:$key@127.0.0.1:$port/hello.git" main 2>"$home/push$i.log"
  e=$(date +%s%N)
  times+=($(( (e - s) / 1000000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "push-to-slug (hello, 5 pushes): median ${median} ms (runs: ${times[*]})"
echo "per build, from the builds table (millisecond timestamps): queued->claimed, claimed->finished:"
"$kiln" builds list --app hello --json | python3 -c '
import json, sys, datetime
for b in sorted(json.load(sys.stdin), key=lambda b: b["seq"]):
    p = lambda k: datetime.datetime.fromisoformat(b[k].replace("Z", "+00:00"))
    print("  %s: queue wait %d ms, build %d ms" % (b["id"], (p("started_at") - p("created_at")).total_seconds() * 1000, (p("finished_at") - p("started_at")).total_seconds() * 1000))
'
echo "worker phase timings per build:"
for i in 1 2 3 4 5; do
  id="b-$i"
  echo "  $id: $("$kiln" builds show "$id" | sed -n 's/^timings *//p')"
done

#!/usr/bin/env bash
# A push over SSH against the same push over HTTP: `kiln up` with its SSH
# server, then rounds of one HTTP push and one SSH push (new commits of the
# hello app each), each timed from `git push` to its exit (the build has
# finished and the release is recorded when git push returns). Prints the
# medians and `ratio:` SSH / HTTP.
# Usage: bench/ssh.sh [path/to/kiln] [rounds]   (default: the debug build, 7)
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${1:-$(swift build --show-bin-path)/kiln}
rounds=${2:-7}
export KILN_BUILDERS="$PWD/builders"
home=$(mktemp -d /tmp/kiln-bench-ssh.XXXXXX)
chmod 755 "$home"
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free); ssh_port=$(free)
"$kiln" up --home "$home" --port "$port" --ssh-port "$ssh_port" --workers 2 >"$home/up.log" 2>&1 &
up=$!
trap 'kill $up 2>/dev/null; wait $up 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do ssh-keyscan -p "$ssh_port" 127.0.0.1 2>/dev/null | grep -q ed25519 && break; sleep 0.1; done
. "$home/kiln.env"
"$kiln" apps create hello >/dev/null
key=$("$kiln" keys create --app hello | tail -1)
ssh-keygen -q -t ed25519 -N '' -f "$home/id_ed25519"
"$kiln" keys add --app hello --ssh-file "$home/id_ed25519.pub" >/dev/null
export GIT_SSH_COMMAND="ssh -i $home/id_ed25519 -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
repo="$home/hello"
mkdir "$repo" && cd "$repo"
git init -q -b main
printf 'web: python3 -m http.server $PORT\n' > Procfile
printf '<h1>hello</h1>\n' > index.html
git add . && git -c user.name=b -c user.email=b@b commit -qm init

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
http=(); ssh=()
for i in $(seq 1 "$rounds"); do
  git -c user.name=b -c user.email=b@b commit -q --allow-empty -m "http $i"
  http+=($(ms git push -q "http://kiln:$key@127.0.0.1:$port/hello.git" main))
  git -c user.name=b -c user.email=b@b commit -q --allow-empty -m "ssh $i"
  ssh+=($(ms git push -q "ssh://git@127.0.0.1:$ssh_port/hello.git" main))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
h=$(median "${http[@]}"); s=$(median "${ssh[@]}")
echo "push over HTTP (hello, $rounds pushes): median ${h} ms (runs: ${http[*]})"
echo "push over SSH  (hello, $rounds pushes): median ${s} ms (runs: ${ssh[*]})"
echo "ratio: $(python3 -c "print(round($s / $h, 2))") (SSH / HTTP, medians of the same run)"

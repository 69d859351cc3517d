#!/usr/bin/env bash
# Slug packing speed: `kiln slug pack` against `tar | zstd -3` (the same
# deterministic options) on the same generated app tree, 5 runs each, medians.
# Usage: bench/pack.sh [path/to/kiln]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${1:-$(swift build --show-bin-path)/kiln}
work=$(mktemp -d /tmp/kiln-bench-pack.XXXXXX)
trap 'rm -rf "$work"' EXIT

# An app-like tree: 3,000 source files of 1-64 KiB of compressible text, and
# 40 binary-ish files of 256 KiB (about 60 MiB in all). Same seed, same tree.
python3 - "$work/tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))) for _ in range(2000)]
for i in range(3000):
    d = os.path.join(root, "lib", f"pkg{i % 60}", f"mod{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rng.randint(1024, 65536)
    text = []
    n = 0
    while n < size:
        w = rng.choice(words); text.append(w); n += len(w) + 1
    with open(os.path.join(d, f"file{i}.ex"), "w") as f:
        f.write(" ".join(text))
os.makedirs(os.path.join(root, "priv"), exist_ok=True)
for i in range(40):
    with open(os.path.join(root, "priv", f"blob{i}.bin"), "wb") as f:
        f.write(rng.randbytes(128 * 1024) + bytes(128 * 1024))
PY
echo "tree: $(du -sh "$work/tree" | cut -f1), $(find "$work/tree" -type f | wc -l) files"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

kiln_times=() tar_times=()
for _ in 1 2 3 4 5; do
  kiln_times+=("$(ms "$kiln" slug pack "$work/tree" -o "$work/kiln.tar.zst")")
  tar_times+=("$(ms sh -c "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --transform='s,^\.,app,' -cf - -C '$work/tree' . | zstd -3 -q -f -o '$work/tar.tar.zst'")")
done
k=$(printf '%s\n' "${kiln_times[@]}" | median)
t=$(printf '%s\n' "${tar_times[@]}" | median)
echo "kiln slug pack: median ${k} ms (runs: ${kiln_times[*]}), $(stat -c %s "$work/kiln.tar.zst") bytes"
echo "tar | zstd -3:  median ${t} ms (runs: ${tar_times[*]}), $(stat -c %s "$work/tar.tar.zst") bytes"
echo "ratio kiln/tar: $(awk -v k="$k" -v t="$t" 'BEGIN {printf "%.2f", k / t}')"
a=$("$kiln" slug pack "$work/tree" -o "$work/a.tar.zst" | cut -d' ' -f1)
b=$("$kiln" slug pack "$work/tree" -o "$work/b.tar.zst" | cut -d' ' -f1)
[ "$a" = "$b" ] && echo "deterministic: two packs of the tree give $a" || echo "NOT deterministic: $a vs $b"
